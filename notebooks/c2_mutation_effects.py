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
rank = None
embedding_rank = None
mutation_rate = None
num_blocks = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from nevolab import plotting, registry, report, store
from nevolab.studies.c.claims import CLAIMS, per_seed_outcomes, stored_claims
from nevolab.studies.c.confound import common_fitness_window, matched_fitness_outcomes, outcomes_by_fitness
from nevolab.studies.c.lm import prepare_sequences
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

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

children, provenance = store.cached(config, lambda: runs_for_config(config, fresh=fresh)[1],
                                    fresh=fresh)
curves, _ = runs_for_config(config)  # cached by now
print(store.describe(provenance))
labels = {v: variant_label(v, config.rank, config.embedding_rank) for v in config.variants}
short = {v: variant_label(v, config.rank, config.embedding_rank, short=True) for v in config.variants}
styles = {v: plotting.style_of(v) for v in config.variants}
_, vocab_size = prepare_sequences(config.tokenizer, 1, 1)
uniform = -np.log(vocab_size)

# %% [markdown]
# ## Figure 1: one mutation's effect, first and last generation
# The cumulative distribution of child − parent negative cross-entropy over all children of all
# seeds, (a) in the first generation with parents and (b) in the last generation (left of the dotted
# line: deleterious; symmetric-log axis, linear within ±0.001 nats).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

plotting.set_theme()
# Column width: the page shows the figures unscaled, and plotting.finish checks every text's size.
WIDTH = plotting.FIGURE_WIDTH_IN
first, final = children.generation.min(), children.generation.max()
fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 7.6), layout="constrained", sharex=True)
for ax, generation in zip(axes, [first, final]):
    subset = children[children.generation == generation]
    for variant in config.variants:
        values = np.sort(subset[subset.variant == variant].delta_fitness.to_numpy())
        if values.size == 0:
            continue
        share = np.mean(values < 0)
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post",
                color=styles[variant].color, linestyle=styles[variant].linestyle,
                label=f"{short[variant]}: {share:.0%} deleterious")
    ax.axvline(0, color=plotting.OKABE_ITO["grey"], linestyle=":", linewidth=1.2)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_ylabel("fraction of children ≤ x")
    ax.set_title(f"({'a' if generation == first else 'b'}) children evaluated in generation {generation}")
    ax.legend(loc="upper left", fontsize=10)
axes[1].set_xlabel("child − parent negative cross-entropy (nats)")
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## Figure 2: at equal generation
# (c) The fraction of deleterious mutations per generation, mean over seeds with a 95% interval
# (1.96 SEM), and (d) the mean loss increase of the deleterious ones, geometric mean over seeds with
# a 95% interval. At a given generation the variants sit at very different losses (C1).


# %% tags=["hide-input"]
def band(ax, table, x, column, log=False):
    """Mean over seeds with 1.96 SEM at each ``x``; on a log axis the mean and SEM of log10 (a
    geometric mean)."""
    for variant in config.variants:
        runs = table[table.variant == variant].dropna(subset=[column])
        values = np.log10(runs[column]) if log else runs[column]
        grouped = values.groupby(runs[x])
        mean, half = grouped.mean(), 1.96 * grouped.sem().fillna(0.0)
        low, high = (10 ** (mean - half), 10 ** (mean + half)) if log else (mean - half, mean + half)
        plotting.band(ax, mean.index, 10 ** mean if log else mean, (low, high), variant,
                      label=labels[variant])
    if log:
        ax.set_yscale("log")


def effect_panels(table, x, xlabel, letters):
    """Deleterious fraction (top) and size (bottom) against ``x``."""
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 8.0), layout="constrained", sharex=True)
    band(axes[0], table, x, "deleterious_fraction")
    axes[0].set_ylabel("fraction of children\nworse than their parent")
    axes[0].set_title(f"({letters[0]}) deleterious fraction")
    band(axes[1], table, x, "deleterious_magnitude", log=True)
    axes[1].set_ylabel("mean loss increase of\ndeleterious children (nats)")
    axes[1].set_title(f"({letters[1]}) size of a deleterious mutation (geometric mean over seeds)")
    axes[1].set_xlabel(xlabel)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=10)
    return fig, axes


fig, _ = effect_panels(curves[curves.generation > 0], "generation", "generation", "cd")
plotting.finish(fig)
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
matched_variants = [v for v in ("lowrank", "rank1", "dense_matched") if v in config.variants]
window = common_fitness_window(curves, matched_variants) if len(matched_variants) >= 2 else None
edges = np.arange(np.floor(curves.best_neg_ce.min() * 10) / 10, curves.best_neg_ce.max() + 0.2, 0.1)
by_fitness = outcomes_by_fitness(curves, edges)
seeds_per_bin = by_fitness.groupby(["variant", "bin"]).seed.transform("size")
by_fitness = by_fitness[seeds_per_bin >= min(2, config.seeds)]
factorized = by_fitness[by_fitness.variant.isin(["lowrank", "rank1"])]
zoom = (factorized.low.min() - 0.3, factorized.high.max() + 0.1) if len(factorized) else None

fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 11.0), layout="constrained")
band(axes[0], by_fitness, "center", "deleterious_fraction")
band(axes[1], by_fitness, "center", "deleterious_fraction")
band(axes[2], by_fitness, "center", "deleterious_magnitude", log=True)
for ax, title in zip(axes, ["(e) deleterious fraction", "(f) deleterious fraction, zoomed in",
                            "(g) size of a deleterious mutation (geometric mean over seeds)"]):
    ax.set_title(title)
    ax.axvline(uniform, color=plotting.OKABE_ITO["grey"], linestyle=":", linewidth=1.4,
               label=f"uniform guess, −ln {vocab_size}")
    if window is not None and window[0] <= window[1]:
        ax.axvspan(*window, color=plotting.OKABE_ITO["yellow"], alpha=0.3, linewidth=0,
                   label="common window: " + ", ".join(short[v] for v in matched_variants))
for ax in axes[:2]:
    ax.set_ylabel("fraction of children\nworse than their parent")
axes[2].set_ylabel("mean loss increase of\ndeleterious children (nats)")
if zoom is not None:
    axes[1].set_xlim(*zoom)
    shown = by_fitness[(by_fitness.center >= zoom[0]) & (by_fitness.center <= zoom[1])]
    fraction = shown.deleterious_fraction
    axes[1].set_ylim(fraction.min() - 0.05, min(1.02, fraction.max() + 0.05))
axes[2].set_xlabel("parents' fitness: best negative cross-entropy of the previous generation (nats)")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=10)
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## Numbers
# Per variant, in the first and the last recorded generation (all seeds pooled): the number of
# children, the fraction that is deleterious, the median effect, the mean effect of the deleterious
# ones and the 5% quantile (a bad mutation).

# %% tags=["hide-input"]
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
# ## Equal generation vs matched fitness
# For each factorized variant against each dense one (dense and the control): the deleterious
# fraction and magnitude per seed **at equal generation** (mean over the last 10% of the
# generations, as the claim below) and **at matched fitness** (mean over the generations whose
# parents' fitness lies in the pair's common window, `nevolab.studies.c.confound`), mean over seeds.
# An empty window (`low` > `high`) means some run of one variant never reaches where a run of the
# other starts: no matched comparison exists for that pair.

# %% tags=["hide-input"]
from IPython.display import display

equal_generation = per_seed_outcomes(curves).groupby("variant")[
    ["deleterious_fraction", "deleterious_magnitude"]].mean()
rows = []
for factorized in [v for v in ("lowrank", "rank1") if v in config.variants]:
    for comparator in [v for v in ("dense", "dense_matched", "small") if v in config.variants]:
        pair = [factorized, comparator]
        matched = matched_fitness_outcomes(curves, pair)
        means = matched.groupby("variant")[["deleterious_fraction", "deleterious_magnitude",
                                             "generations"]].mean()
        low, high = matched.window_low.iloc[0], matched.window_high.iloc[0]
        for metric in ("deleterious_fraction", "deleterious_magnitude"):
            rows.append({
                "comparison": f"{factorized} vs {comparator}", "metric": metric,
                "window": f"[{low:.2f}, {high:.2f}]" if low <= high else f"none ({low:.2f} > {high:.2f})",
                "equal gen.: factorized": equal_generation.loc[factorized, metric],
                "equal gen.: comparator": equal_generation.loc[comparator, metric],
                "matched: factorized": means.loc[factorized, metric],
                "matched: comparator": means.loc[comparator, metric],
                "generations in window": "{:.0f} / {:.0f}".format(*means.generations.reindex(pair)),
            })
comparison = pd.DataFrame(rows)
if comparison.empty:
    print("no comparison possible with these variants (needs a factorized and a dense variant)")
else:
    comparison["difference at equal gen."] = (comparison["equal gen.: factorized"]
                                              - comparison["equal gen.: comparator"])
    comparison["difference matched"] = comparison["matched: factorized"] - comparison["matched: comparator"]
    # One cell per comparison point ("factorized / comparator") keeps the table inside the column.
    shown = pd.DataFrame({
        "comparison": comparison.comparison,
        "metric": comparison.metric.str.replace("deleterious_", "deleterious "),
        "window": comparison.window,
        "equal generation": [f"{a:.4f} / {b:.4f}" for a, b in
                             zip(comparison["equal gen.: factorized"], comparison["equal gen.: comparator"])],
        "matched fitness": ["–" if pd.isna(a) else f"{a:.4f} / {b:.4f}" for a, b in
                            zip(comparison["matched: factorized"], comparison["matched: comparator"])],
        "difference (equal gen.)": comparison["difference at equal gen."].map("{:+.4f}".format),
        "difference (matched)": comparison["difference matched"].map(
            lambda v: "–" if pd.isna(v) else f"{v:+.4f}"),
        "generations in window": comparison["generations in window"],
    })
    display(report.styled(shown))

# %% [markdown]
# ## The claim, tested
# Per seed, the deleterious fraction and the mean size of a deleterious mutation over the last 10%
# of the generations; factorized against dense with the verdict by the rule of
# [How we decide](how_we_decide.md) (Hodges–Lehmann shift with its 95% interval, one-sided
# Mann–Whitney, Holm over this page's claims; **reproduced**: factorized mutations more often / more
# strongly deleterious), next to the Wilcoxon rank-sum p-value and Glass's Δ of the paper's scripts.
# Rows are C3's (Holm-corrected over all of Study C's claims), at equal generation against `dense`
# and at matched fitness against `dense_matched`.

# %% tags=["hide-input"]
all_claims, _ = stored_claims(config)  # C3's table: the same numbers on every page
families = {key for key, metric, *_ in CLAIMS if metric != "final_neg_ce"}
claims = all_claims[all_claims.claim.isin(families)] if not all_claims.empty else all_claims
if claims.empty:
    print("no comparison possible with these variants (needs dense and a factorized variant)")
else:
    shown = report.compact(claims, digits=4)
    shown["rank-sum p (paper)"] = claims.ranksums_p.map(report.p_value)
    shown["Glass's Δ (paper)"] = claims.glass_delta.map(lambda v: report.number(v, 2))
    display(report.styled(shown))
