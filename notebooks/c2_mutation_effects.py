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
# # C2: what one mutation does, dense vs factorized
#
# Garbus & Pollack's abstract says their results "suggest deleterious factorized mutations have a
# stronger negative impact on performance than deleterious non-factorized mutations". Their evidence
# is indirect: on CarRacing the population's mean score in the first selection stage is lower for the
# factorized networks (more bad mutants, which early termination then cuts short), while the best
# finalists are equal. A Deep GA run holds the direct measurement: every child is its parent plus
# one Gaussian mutation of all its genes, so **child fitness − parent fitness** is the effect of one
# mutation. This page collects it for every child of the language-model runs of C1 (same runs, same
# cache).
#
# The mutation sizes are the original's (`mr = 0.01`): a dense weight moves by mr of its Kaiming
# init std, a factor entry by √mr of its init std (0.1 at the original's mr), so a factorized matrix
# U·V moves by √(2·mr) of its std to first order, and coherently (a rank-r change), across the whole
# matrix.
#
# **Where the runs start matters.** The variants do not start at the same loss (C1): the dense model,
# with Jevo.jl's N(0, 1) tied embedding, starts nats below the uniform guess and is still climbing
# steeply at the last generation of these runs, while the factorized ones start at the guess and
# flatten out. How often a mutation hurts depends on how good its parent already is, so comparing
# the last generations compares a climbing population with a plateaued one. This page therefore
# also compares the variants **at matched fitness**: every generation is placed at its parents'
# fitness, and the deleterious fraction is averaged over a band of fitness that every compared run
# passes through. The control *dense, matched init* (`dense_matched`: the dense network with its
# embedding initialised at the low-rank embedding's scale, see C1) starts where the factorized
# variants start, so it shares a band with them that the original dense runs never reach.
#
# **Scale.** As on C1: the `default` profile that builds this page is scaled down from the paper's
# population 512 and 300 generations to run in minutes on a 2-core CPU (see the parameter table).

# %% tags=["parameters"]
profile = "default"
variants = None
population = None
elites = None
generations = None
seeds = None
tokenizer = None
sequence_length = None
num_sequences = None
heldout_sequences = None
heldout_every = None
rank = None
embedding_rank = None
mutation_rate = None
num_blocks = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from nevolab import plotting, registry, report, store
from nevolab.studies.c import analysis, figures, pages
from nevolab.studies.c.runs import runs_for_config
from nevolab.studies.c.variants import variant_label

config = registry.configure_from("c2_mutation_effects", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
print(analysis.lm_scale_line(config))
config.table()

# %% [markdown]
# ## Compute
# The runs are C1's (cached per variant under `data/results/study_c_runs/`). Each run keeps every
# child of eleven generations one by one (generation 1, every tenth of the run and the last; this
# page's table, cached under `data/results/c2_mutation_effects/`) and, for every generation, a
# summary of its children (used for the curves).

# %% tags=["hide-input"]
import numpy as np

children, provenance = pages.page_table(config, fresh=fresh)
curves, _ = runs_for_config(config)  # cached by now
print(store.describe(provenance))
labels = {v: variant_label(v, config.rank, config.embedding_rank) for v in config.variants}
short = {v: variant_label(v, config.rank, config.embedding_rank, short=True) for v in config.variants}
vocab_size = pages.vocabulary(config)
uniform = -np.log(vocab_size)

# %% [markdown]
# ## Figure 1: one mutation's effect, first and last generation
# The cumulative distribution of child − parent negative cross-entropy over all children of all
# seeds, (a) in the first generation with parents and (b) in the last generation (left of the dotted
# line: deleterious; symmetric-log axis, linear within ±0.001 nats).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

plotting.set_theme()
figures.first_last_cdfs(children, config.variants, short)
plt.show()

# %% [markdown]
# ## Figure 2: at equal generation
# (c) The fraction of deleterious mutations per generation, mean over seeds with a 95% interval
# (1.96 SEM), and (d) the mean loss increase of the deleterious ones, geometric mean over seeds with
# a 95% interval. At a given generation the variants sit at very different losses (C1).


# %% tags=["hide-input"]
figures.effect_panels(curves[curves.generation > 0], "generation", "generation", "cd", config.variants,
                      labels)
plt.show()

# %% [markdown]
# ## Figure 3: at matched fitness
# The same two quantities against the **parents' fitness** instead of the generation: generation g
# is placed at the best negative cross-entropy of generation g − 1 (its children are one-mutation
# clones of that generation's elites), binned in 0.1-nat bins; mean over the seeds that visit a bin
# with a 95% interval, drawn where at least two seeds visit it. (e) The deleterious fraction over the
# whole range, (f) the same zoomed in on where the factorized variants run, (g) the size of a
# deleterious mutation. The dotted line is the uniform guess; the shaded band is the common window
# of the comparison below (the fitness band that every seed of the factorized variants and of the
# dense control passes through). A curve above another at the same x means more, or larger,
# deleterious mutations *at the same fitness*.

# %% tags=["hide-input"]
matched_variants, window = analysis.matched_window(curves, config.variants)
by_fitness = analysis.fitness_bins(curves, config.seeds)
figures.matched_fitness_panels(by_fitness, config.variants, labels, short, uniform, vocab_size,
                               matched_variants, window, analysis.zoom_range(by_fitness))
plt.show()

# %% [markdown]
# ## Numbers
# Per variant, in the first and the last recorded generation (all seeds pooled): the number of
# children, the fraction that is deleterious, the median effect, the mean effect of the deleterious
# ones and the 5% quantile (a bad mutation).

# %% tags=["hide-input"]
first, final = children.generation.min(), children.generation.max()
table = analysis.children_summary(children, [first, final], config.variants)
table.style.format(analysis.CHILDREN_FORMAT)

# %% [markdown]
# ## Equal generation vs matched fitness
# For each factorized variant against each dense one (dense and the control): the deleterious
# fraction and magnitude per seed **at equal generation** (mean over the last 10% of the
# generations, as the claim below) and **at matched fitness** (mean over the generations whose
# parents' fitness lies in the pair's common window, `nevolab.studies.c.confound`), mean over seeds.
# An empty window (`low` > `high`) means some run of one variant never reaches where a run of the
# other starts: no matched comparison exists for that pair.

# %% tags=["hide-input"]
from IPython.display import display

comparison = analysis.equal_vs_matched(curves, config.variants)
if comparison.empty:
    print("no comparison possible with these variants (needs a factorized and a dense variant)")
else:
    display(report.styled(analysis.shown_comparison(comparison)))

# %% [markdown]
# ## The claim, tested
# Per seed, the deleterious fraction and the mean size of a deleterious mutation over the last 10%
# of the generations; factorized against dense with the verdict by the rule of
# [How we decide](how_we_decide.md) (Hodges–Lehmann shift with its 95% interval, one-sided
# Mann–Whitney, Holm over each claim's scopes; **reproduced**: factorized mutations more often / more
# strongly deleterious), next to the Wilcoxon rank-sum p-value and Glass's Δ of the paper's scripts.
# Rows are C3's (Holm-corrected over each claim's scopes, the same on every page), at equal generation
# against `dense` and at matched fitness against `dense_matched`.

# %% tags=["hide-input"]
all_claims, _ = pages.claims(config)  # C3's table: the same numbers on every page
claims = analysis.select_claims(all_claims, final_fitness=False)
if claims.empty:
    print("no comparison possible with these variants (needs dense and a factorized variant)")
else:
    display(report.styled(analysis.shown_claims(claims, digits=4)))
