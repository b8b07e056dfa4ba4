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
# variants should not differ. The paper's numbers are printed below the parameters; the paper shows them
# as split violins (stage 1 | stage 2) per variant.
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
print(analysis.paper_stage_line(config.spec.param("seeds").paper))
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
# ## At matched parent fitness
# At the last generation the factorized population is much worse than the dense one, and a worse
# population plays shorter episodes whatever its encoding. So, as C2 does for mutation effects, each
# generation is placed at its **parents' fitness**: the mean score of the previous generation's parents,
# whose clones and children its stage 1 plays. Over the band of parent levels both variants pass through
# (pooled over seeds), each run's generations in the band are averaged; the mean levels show how well the
# two match. Does the factorized variant still take fewer stage-1 steps there?

# %% tags=["hide-input"]
from nevolab.studies.c.claims import matched_parent_fitness

matched = matched_parent_fitness(results)
matched_saving = analysis.saving_table(outcomes, matched).iloc[1:]
step_saving = float(100 * matched_saving.iloc[0, 0]) if len(matched_saving) else float("nan")
glue("c5_matched_step_saving", step_saving, display=False)  # per cent, for the chapter page
if matched.empty:
    print("needs both the dense and the factorized variant")
else:
    display(report.styled(analysis.matched_summary(matched, config.variants, labels)))
    display(matched_saving.style.format("{:+.1%}", na_rep="–"))

# %% [markdown]
# ## Claims
# Factorized against dense. At the last generation and at matched parent fitness: a lower stage-1 mean
# score and fewer stage-1 steps (the runtime claim needs early termination on). At the last generation:
# an equal final score (C4's claim) and equal stage-2 finalists, in score and in steps, each within the
# paper's own gap; both are about the end of the paper's runs and need its generations and population,
# below which their verdict is *not tested at scale*, with the data and interval shown. Our own margin
# for the final score is a labelled extra row (its claim key says "ours"). Each MinAtar game C4 runs
# stands in for the paper's Atari games: a higher final score there is not tested at scale either. The
# table below states each claim's margin, its source and the scale it needs. In the claims table after
# it, the verdict columns first (the rule of [How we decide](how_we_decide.md), Holm-corrected over each
# claim's scopes); then the paper's statistics: Kruskal–Wallis over the variants, the Wilcoxon rank-sum
# test and Glass's Δ with dense as control.

# %% tags=["hide-input"]
from nevolab.studies.c import paper as c_paper

report.styled(analysis.claim_statements(c_paper.PIXEL_CLAIMS))

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
# more harmful mutations of an equally good one; the comparison at matched parent fitness separates the
# two.

# %% tags=["hide-input"]
if not claims.empty:
    if not matched.empty:
        display(Markdown(analysis.matched_saving_line(claims, matched)))
    display(Markdown(analysis.stage_reading(claims)))

# %% [markdown]
# The verdicts say what this page's scale shows: at the default profile the population is smaller, the
# runs shorter and the episodes capped sooner than the paper's (the scale line above), and the claims
# about the end of the paper's runs say so in their verdict.
