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
# # C6: the stage-1 claims on the real CarRacing-v3
#
# C4 and C5 run our own JAX racing task, a stand-in with CarRacing's rules. This page runs the paper's
# environment itself: gymnasium's CarRacing-v3 as envpool's C++ port, with the original's preprocessing
# (the 96×96 RGB frame resized to 64×64, four frames stacked, the network's three outputs as the
# action) and its early termination (more than 20 rewards seen and the last 21 all negative). Dense
# against rank-1 factorized, with the paper's two-stage selection.
#
# The paper's claims about the end of its runs (an equal final score, equal stage-2 finalists) need its
# 40 generations of 256; this page cannot afford them on two CPU cores. It tests the claims that hold
# from the first generations on, the mechanism the paper proposes: a factorized child is more often
# and more strongly worse than its parent, so stage 1, where every child plays, scores lower and, with
# early termination, takes fewer environment steps. Both are tested at the last generation and at
# matched parent fitness, and set beside C5's verdicts on racing, so a reader sees whether the stand-in
# agrees.
#
# The page needs the envpool extra (`make venv-envpool`); without it, it stops before computing
# anything and names the install command.

# %% tags=["parameters"]
profile = "default"
variants = None
seeds = None
population = None
finalists = None
parents = None
stage1_episodes = None
stage2_episodes = None
generations = None
max_steps = None
rank = None
early_termination = None
mutation_rate = None
chunk_steps = None
fresh = False

# %% [markdown]
# ## Parameters
# The profile sets every parameter; anything set explicitly overrides it. The default is sized to the
# compute budget printed below, from a measured rate of environment steps per CPU second and the
# episode lengths of the first generations (the basis is printed with the estimate; the measured
# compute follows in the next section).

# %% tags=["hide-input"]
from nevolab import plotting, registry, report, store
from nevolab.studies.c import analysis, pages, real, real_page

config = registry.configure_from("c6_real_carracing", globals())
real.require_envpool()  # one line naming the install command, before any compute
print(f"profile: {config.profile}   results key: {config.hash()}")
print(real_page.scale_line(config))
print(real.estimate_line(config))
config.table()

# %% [markdown]
# ## Compute
# One run per (variant, seed), cached under `data/results/study_c_pixel_runs/` (C4 run on
# `envpool:CarRacing-v3` with the same settings shares them); this page's claims table is stored under
# `data/results/c6_real_carracing/`. The compute is read from the runs' provenance records.

# %% tags=["hide-input"]
import textwrap

from nevolab.studies.c.claims import last_generation, matched_parent_fitness

claims, provenance = pages.claims(config, fresh=fresh)  # computes the runs first (fresh: again)
results = real.real_tables(config)
print(store.describe(provenance))
print(analysis.timing_line(results, store.machine()["cpu"]))
print(textwrap.fill(real.compute_line(config), 100))
outcomes = last_generation(results, real.TASK)
matched = matched_parent_fitness(results, real.TASK)
labels = {v: plotting.style_of(v).label for v in config.variants}

# %% [markdown]
# ## Figure
# Per generation, mean over seeds with a 95% interval (1.96 SEM, as the paper's plot script): the best
# finalist's score (its 6-episode mean, the paper's "score"), the mean score of stage 1 (every member's
# episodes) and the environment steps stage 1 took.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

plotting.set_theme()
real_page.stage1_curves(results, config.variants, labels)
plt.show()

# %% [markdown]
# ## The last generation
# Per stage, mean and standard deviation over seeds; below it, stage 1's cost for the factorized variant
# against the dense one's, in environment steps and in seconds, beside the paper's change in seconds at
# its generation 40.

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown, display
from myst_nb import glue

display(report.styled(analysis.stage_summary(outcomes, config.variants, labels)))
saving = analysis.saving_table(outcomes, matched)
glue("c6_stage1_step_saving", float(100 * saving.iloc[0, 0]), display=False)  # per cent
saving.style.format("{:+.1%}", na_rep="–")

# %% [markdown]
# ## At matched parent fitness
# A worse population plays shorter episodes whatever its encoding, so, as on C5, each generation is
# placed at its parents' fitness (the previous generation's parents' mean score), and each run's
# generations in the band of levels both variants pass through are averaged.

# %% tags=["hide-input"]
if matched.empty:
    print("needs both the dense and the factorized variant")
else:
    display(report.styled(analysis.matched_summary(matched, config.variants, labels)))

# %% [markdown]
# ## Claims
# Factorized against dense: a lower stage-1 mean score and fewer stage-1 environment steps (the
# runtime claim needs early termination on), at the last generation and at matched parent fitness.
# The verdict columns first (the rule of [How we decide](how_we_decide.md), Holm-corrected over each
# claim's two scopes on this page); then the paper's statistics: Kruskal–Wallis over the variants,
# the Wilcoxon rank-sum test and Glass's Δ with dense as control.

# %% tags=["hide-input"]
from nevolab.studies.c import paper as c_paper

statements = [c_paper.PIXEL_CLAIMS_BY_KEY[key] for key in real_page.STAGE1_KEYS]
display(report.styled(analysis.claim_statements(statements)))
display(report.styled(analysis.shown_claims(claims, kruskal=True)))
glue("c6_findings", HTML(report.as_html(report.findings(claims))), display=False)

# %% [markdown]
# ## Beside the racing stand-in
# The same claims' rows from C5's stored claims table at this profile (C5's own runs: racing, its own
# scale and seeds, its own Holm family), under this page's. The shifts are in each task's own units;
# Cliff's δ (the share of seed pairs where factorized is above dense, minus the share where it is
# below) compares the two.

# %% tags=["hide-input"]
racing, missing = pages.racing_stage1_rows(config.profile)
if missing:
    print(missing)
display(report.styled(real_page.side_by_side(claims, racing)))
display(Markdown(real_page.agreement_line(claims, racing)))

# %% [markdown]
# ## An evolved policy
# One episode of the best finalist of seed 0 at the last generation, per variant, on a track none of
# them was selected on, played by envpool's CarRacing-v3: six frames from the first to the last, as the
# policy saw them (64×64 RGB, the newest frame of its stack). The genotype is rebuilt from its stored
# seed list.

# %% tags=["hide-input"]
from nevolab.studies.c import figures

strips, scores = real.policy_strips(results, config)
figures.policy_strips(strips, scores, labels)
plt.show()

# %% [markdown]
# ## Reading
# The paper's mechanism predicts both claims from the first generations on, and at matched parent
# fitness too: a lower stage-1 score that is not only a worse population's. The paper's own numbers are
# those of its generation 40, where its stage-2 finalists score above 700 of a lap's 1000 points and a
# mutation has more to break. The verdicts below say what this page's generations show, not what
# generation 40 would.

# %% tags=["hide-input"]
display(Markdown(real_page.progress_line(outcomes, config.variants, labels)))
for _, row in claims.iterrows():
    display(Markdown("- " + report.describe(row)))
