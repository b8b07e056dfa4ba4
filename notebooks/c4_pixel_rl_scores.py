# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # C4: pixel RL, best score per generation
#
# Garbus & Pollack evolve CNN policies from pixels with the Deep GA: on CarRacing (population 256,
# 40 generations, 15 seeds, a two-stage selection) and on four Atari games (population 512, truncation
# 16, one episode, 300 generations). They compare three networks: **dense** (No Factorization, 957,923
# parameters), **factorized** (rank-1 factors on the four convolutions and the first dense layer, 7,043
# genes) and **small** dense (5,795). Their CarRacing figure plots the best finalist's score per
# generation; in the paper's figure the curves end at 780–800 (dense, factorized) and 650 (small).
#
# **What runs here.** No JAX port of CarRacing exists, so the racing task is NevoLab's own
# ({mod}`nevolab.tasks.racing`): a random closed track of 96 tiles each reset, +1000/96 per new tile and
# −0.1 per frame, continuous steering, gas and brake, a car-centred grayscale view rendered in JAX, 4
# stacked frames, and the original's early termination (the episode ends after 21 frames in a row
# without a new tile). The CNN is the paper's, on the smaller image. The Atari games need ALE (or
# jaxtari, whose sprites download from the internet), so MinAtar's games (gymnax) stand in for them,
# with the paper's Atari CNN scaled to a 10×10 board (3×3 stride-1 filters) and its rank 4.
#
# Every generation, every member plays 2 episodes (stage 1); the best finalists play 4 more (stage 2);
# the best of them by their 6-episode mean are kept unmutated and parent the next generation. The
# score plotted is the best finalist's 6-episode mean. Early-ending episodes leave the batch between
# chunks of steps, so they save compute even though the rollout is vmapped (see C5).

# %% tags=["parameters"]
profile = "default"
tasks = None
variants = None
seeds = None
population = None
finalists = None
parents = None
stage1_episodes = None
stage2_episodes = None
generations = None
max_steps = None
obs_size = None
rank = None
early_termination = None
atari_population = None
atari_parents = None
atari_generations = None
atari_max_steps = None
atari_rank = None
mutation_rate = None
chunk_steps = None
fresh = False

# %% [markdown]
# ## Parameters
# The profile sets every parameter; anything set explicitly overrides it. The table compares the
# values used on this page with the paper's.

# %% tags=["hide-input"]
from nevolab import plotting, registry, report, store
from nevolab.studies.c import analysis, figures, pages
from nevolab.studies.c import paper as c_paper
from nevolab.studies.c.pixel_tasks import RACING, TASKS
from nevolab.studies.c.spec import PIXEL_DEFAULT_BUDGET_MIN

config = registry.configure_from("c4_pixel_rl_scores", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
for line in analysis.pixel_scale_lines(config):
    print(line)
config.table()

# %% [markdown]
# ## Compute
# One run per (task, variant, seed), cached under `data/results/study_c_pixel_runs/` and shared with
# C5; this page's table (all of them) under `data/results/c4_pixel_rl_scores/`. Each row of a run's
# table is one generation: per stage, the mean score, the environment steps and the wall time; the
# best finalist's score and its seed list.

# %% tags=["hide-input"]
from IPython.display import Markdown, display

results, provenance = pages.page_table(config, fresh=fresh)
print(store.describe(provenance))
print(analysis.timing_line(results, store.machine()["cpu"]))
if RACING in config.tasks:
    budget = PIXEL_DEFAULT_BUDGET_MIN if config.profile == "default" else None
    reach = analysis.population_reach_line(results, config, budget, store.machine()["cpu"])
    display(Markdown(reach[0].upper() + reach[1:] + "."))  # a sentence of the page: it wraps

# %% [markdown]
# ## Figure
# The best finalist's score per generation (the paper's "Score": its 6-episode mean on racing, its one
# episode on MinAtar), mean over seeds with a 95% interval (1.96 SEM, as the paper's plot script).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

plotting.set_theme()
task_names = {task: TASKS[task].title for task in config.tasks}
figures.pixel_scores(results, config.tasks, config.variants, task_names)
plt.show()

# %% [markdown]
# ## The last generation
# The best finalist's score at the last generation (mean and standard deviation over seeds), the
# Kruskal–Wallis test over the three variants (the paper's test), and the network sizes: evolved genes
# against the network's parameters, and the bytes of the best individual's seed list (8 bytes per key:
# its initial network and one per mutation in its ancestry).

# %% tags=["hide-input"]
labels = {v: plotting.style_of(v).label for v in config.variants}
report.styled(analysis.last_generation_rows(results, config.tasks, config.variants, task_names, labels))

# %% [markdown]
# ## An evolved policy
# One episode of the best finalist of seed 0 at the last generation, per variant, on a track none of
# them was selected on: six frames from the first to the last, newest frame of the stack, the speed bar
# at the bottom. The genotype is rebuilt from its stored seed list.

# %% tags=["hide-input"]
strips, scores = pages.policy_strips(results, config, RACING)
figures.policy_strips(strips, scores, labels)
plt.show()

# %% [markdown]
# ## The claims this figure makes
# Equivalence is tested by two one-sided tests (see [How we decide](how_we_decide.md)), not as a failure
# to find a difference:

# %% tags=["hide-input"]
from IPython.display import Markdown

display(Markdown(analysis.equal_final_line()))

# %% [markdown]
# The paper also runs four Atari games (discrete actions, one stage of selection) and reads them the same
# way: factorized outperforms or is competitive. MinAtar Breakout stands in for them here; it is not one of
# the paper's games, so that claim's verdict is *not tested at scale*, with its data shown. The rows are
# C5's (Holm-corrected over each claim's scopes).

# %% tags=["hide-input"]
claims, _ = pages.claims(config)
final_claims = analysis.select_claims(
    claims, keys=["pixel_equal_final", c_paper.OURS_EQUAL_FINAL, "pixel_atari_competitive"])
if final_claims.empty:
    print("needs both the dense and the factorized variant")
else:
    display(report.styled(analysis.shown_claims(final_claims)))
