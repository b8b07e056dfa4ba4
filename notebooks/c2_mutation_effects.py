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
# The mutation sizes are the original's (`mr = 0.01`): a dense weight moves by 0.01 of its Kaiming
# init std, a factor entry by √0.01 = 0.1 of its init std, so a factorized matrix U·V moves by about
# 0.1·√2 of its std, and coherently (a rank-r change), across the whole matrix.
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
rank = None
embedding_rank = None
mutation_rate = None
num_blocks = None
fresh = False

# %% [markdown]
# ## Parameters

# %%
from nevolab import plotting, registry, store
from nevolab.studies.c.claims import CLAIMS, per_seed_outcomes, study_c_claims
from nevolab.studies.c.runs import runs_for_config
from nevolab.studies.c.variants import variant_label

config = registry.configure_from("c2_mutation_effects", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
print(f"scale: population {config.population} (paper 512), {config.generations} generations (paper 300), "
      f"{config.num_sequences} windows of {config.sequence_length} {config.tokenizer} tokens "
      f"(paper: 1024 TinyStories stories, 2048-token BPE), {config.seeds} seeds per variant")
config.table()

# %% [markdown]
# ## Compute
# The runs are C1's (cached per variant under `data/results/study_c_runs/`). Each run keeps every
# child of eleven generations one by one (generation 1, every tenth of the run and the last; this
# page's table, cached under `data/results/c2_mutation_effects/`) and, for every generation, a
# summary of its children (used for the curves).

# %%
import numpy as np
import pandas as pd

children, provenance = store.cached(config, lambda: runs_for_config(config, fresh=fresh)[1],
                                    fresh=fresh, seeds={"seeds": list(range(config.seeds)), "data_seed": 0})
curves, _ = runs_for_config(config)  # cached by now
print(store.describe(provenance))
labels = {v: variant_label(v, config.rank, config.embedding_rank) for v in config.variants}
colors = {v: plotting.method_color(v) for v in config.variants}

# %% [markdown]
# ## Figure
# (a, b) The cumulative distribution of child − parent negative cross-entropy over all children of
# all seeds, in the first generation with parents and in the last generation (left of the dotted
# line: deleterious; symmetric-log axis, linear within ±0.001 nats). (c) The fraction of
# deleterious mutations per generation, mean over seeds with a 95% interval (1.96 SEM), and (d) the
# mean loss increase of the deleterious ones, geometric mean over seeds with a 95% interval.

# %%
import matplotlib.pyplot as plt

plotting.set_theme()
first, final = children.generation.min(), children.generation.max()
short = {v: variant_label(v, config.rank, config.embedding_rank, short=True) for v in config.variants}
fig, axes = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
for ax, generation in zip(axes[0], [first, final]):
    subset = children[children.generation == generation]
    for variant in config.variants:
        values = np.sort(subset[subset.variant == variant].delta_fitness.to_numpy())
        if values.size == 0:
            continue
        share = np.mean(values < 0)
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post", color=colors[variant],
                label=f"{short[variant]}: {share:.0%} deleterious")
    ax.axvline(0, color=plotting.OKABE_ITO["grey"], linestyle=":", linewidth=1.2)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlabel("child − parent negative cross-entropy (nats)")
    ax.set_ylabel("fraction of children ≤ x")
    ax.set_title(f"({'a' if generation == first else 'b'}) children evaluated in generation {generation}")
    ax.legend(loc="upper left", fontsize=7)


def band(ax, column, log=False):
    """Mean over seeds with 1.96 SEM; on a log axis the mean and SEM of log10 (a geometric mean)."""
    for variant in config.variants:
        runs = curves[(curves.variant == variant) & (curves.generation > 0)].dropna(subset=[column])
        values = np.log10(runs[column]) if log else runs[column]
        grouped = values.groupby(runs.generation)
        mean, half = grouped.mean(), 1.96 * grouped.sem().fillna(0.0)
        low, high = (10 ** (mean - half), 10 ** (mean + half)) if log else (mean - half, mean + half)
        plotting.band(ax, mean.index, 10 ** mean if log else mean, (low, high), variant,
                      label=labels[variant])
    ax.set_xlabel("generation")


band(axes[1, 0], "deleterious_fraction")
axes[1, 0].set_ylabel("fraction of children worse than their parent")
axes[1, 0].set_title("(c) deleterious fraction")
band(axes[1, 1], "deleterious_magnitude", log=True)
axes[1, 1].set_yscale("log")
axes[1, 1].set_ylabel("mean loss increase of deleterious children (nats)")
axes[1, 1].set_title("(d) size of a deleterious mutation (geometric mean over seeds)")
fig.legend(*axes[1, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
plt.show()

# %% [markdown]
# ## Numbers
# Per variant, in the first and the last recorded generation (all seeds pooled): the number of
# children, the fraction that is deleterious, the median effect, the mean effect of the deleterious
# ones and the 5% quantile (a bad mutation).

# %%
table = (children[children.generation.isin([first, final])]
         .groupby(["variant", "generation"])
         .apply(lambda d: pd.Series({
             "children": len(d),
             "deleterious fraction": d.deleterious.mean(),
             "median Δ": d.delta_fitness.median(),
             "mean Δ of deleterious": d.delta_fitness[d.deleterious].mean(),
             "5% quantile Δ": d.delta_fitness.quantile(0.05),
         }), include_groups=False)
         .reindex(config.variants, level="variant"))
table.style.format({"children": "{:.0f}", "deleterious fraction": "{:.1%}", "median Δ": "{:+.2e}",
                    "mean Δ of deleterious": "{:+.2e}", "5% quantile Δ": "{:+.2e}"})

# %% [markdown]
# ## The claim, tested
# Per seed, the deleterious fraction and the mean size of a deleterious mutation over the last 10%
# of the generations; factorized minus dense, with the Wilcoxon rank-sum p-value and Glass's Δ of the
# paper's scripts, and the verdict from the 95% bootstrap interval of the difference of means
# (**reproduced** when it lies above zero: factorized mutations more often / more strongly
# deleterious). All claims are on the C3 page.

# %%
from IPython.display import display

outcomes = per_seed_outcomes(curves)
families = sorted({family for family, metric, *_ in CLAIMS if metric != "final_neg_ce"})
claims = study_c_claims(outcomes, families=families)
if claims.empty:
    print("no comparison possible with these variants (needs dense and a factorized variant)")
else:
    display(claims.style.format(
        {"factorized": "{:.4f}", "comparator": "{:.4f}", "effect": "{:+.4f}", "low": "{:+.4f}",
         "high": "{:+.4f}", "ranksums_p": "{:.3g}", "glass_delta": "{:+.2f}"}).hide(axis="index"))
