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
# # C5: the two selection stages at the last generation
#
# The paper's mechanism: a mutation of a rank-1 factor changes a whole rank-1 slice of a weight matrix,
# so factorized children are more often and more strongly worse than their parents; CarRacing's early
# termination (21 frames in a row without a new tile) then ends their episodes sooner, and stage 1, where
# every child plays, takes less time. The finalists of stage 2 are the good ones, so there the two
# variants should not differ. From the original's `last-gen-information.json` (generation 40, 15 seeds):
# stage-1 evaluation time 117 s dense against 73 s factorized (−38 %), stage-1 mean score 474 against
# 267, and stage-2 mean scores 731 against 733. The paper shows these as split violins (stage 1 | stage
# 2) per variant.
#
# **Evaluation cost, measured two ways.** The wall time of each stage is stored, as the paper reports
# it, but it is not reproducible, and here the factorized network's steps are cheaper than the dense
# one's (its factors are decoded per episode, the dense weights gathered). So the claim is tested on
# the **environment steps** each stage took: the compacted rollout's time follows them (benchmark
# `lowrank.rl.early_termination_efficiency`), and they count exactly what early termination saves.

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
# The runs are C4's (same parameters, same cache); the table compares the values with the paper's.

# %% tags=["hide-input"]
from nevolab import plotting, registry, report, store
from nevolab.studies.c import analysis, figures, pages, pixel
from nevolab.studies.c.claims import last_generation, stage_long_table
from nevolab.studies.c.pixel_tasks import RACING

config = registry.configure_from("c5_selection_stages", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
print(analysis.pixel_scale_lines(config, image=False)[0])
config.table()

# %% [markdown]
# ## Compute
# The racing runs of C4 (cached under `data/results/study_c_pixel_runs/`); this page's claims table is
# stored under `data/results/c5_selection_stages/`.

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown, display

results = pixel.pixel_tables(config, fresh=fresh, tasks=(RACING,))
outcomes = last_generation(results)
claims, provenance = pages.claims(config, fresh=fresh)
print(store.describe(provenance))
labels = {v: plotting.style_of(v).label for v in config.variants}
report.styled(analysis.stage_summary(outcomes, config.variants, labels))

# %% [markdown]
# ## Figure
# Last generation, one point per seed: the mean score of each stage (stage 1: every member's
# per-episode mean; stage 2: the finalists' 6-episode means), then each stage's evaluation cost in
# environment steps and in seconds on this machine. Left half of each violin: stage 1; right half:
# stage 2.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

plotting.set_theme()
long = stage_long_table(outcomes)
long["variant"] = long.variant.map(labels)
figures.stage_violins(long, [labels[v] for v in config.variants])
plt.show()

# %% [markdown]
# ## How much stage 1 saved
# The factorized variant's stage-1 cost against the dense one's, as a relative change of the mean over
# seeds, in environment steps and in seconds, beside the paper's −38 % (seconds).

# %% tags=["hide-input"]
from myst_nb import glue

saving = analysis.saving_table(outcomes)
glue("c5_stage1_step_saving", float(100 * saving.iloc[0, 0]), display=False)  # per cent
glue("c5_stage1_time_saving", float(100 * saving.iloc[0, 1]), display=False)
saving.style.format("{:+.1%}")

# %% [markdown]
# ## Claims
# Factorized against dense at the last generation: a lower stage-1 mean score, fewer stage-1 steps, and
# an equal final score (equivalence within ±50 points). The verdict columns first (the rule of
# [How we decide](how_we_decide.md), Holm-corrected over this page); then the paper's statistics:
# Kruskal–Wallis over the three variants, the Wilcoxon rank-sum test and Glass's Δ with dense as
# control.

# %% tags=["hide-input"]
if claims.empty:
    print("needs both the dense and the factorized variant")
    glue("c5_findings", HTML("<p>No claim could be tested: it needs the dense and factorized variants.</p>"),
         display=False)
else:
    display(report.styled(analysis.shown_claims(claims, kruskal=True)))
    glue("c5_findings", HTML(report.as_html(report.findings(claims))), display=False)

# %% [markdown]
# ## Reading
# The paper's pattern is all three together: shorter stage-1 episodes *at an equal final score*. Where
# the final scores differ, the shorter episodes may come from a worse population rather than from
# more harmful mutations of an equally good one.

# %% tags=["hide-input"]
if not claims.empty:
    display(Markdown(analysis.stage_reading(claims)))

# %% [markdown]
# The verdicts say what this page's scale shows, not what 40 generations of 256 would: at the default
# profile the population is smaller, the runs shorter and the episodes capped sooner than the paper's.
