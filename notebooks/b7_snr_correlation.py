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
# # B7: how stable are the SNR and |θ| ranks of the surviving kernels
#
# The paper's Fig. 7 (`f7_s2n.ipynb`, of which only parts are public; [originals.md §2.4](originals.md))
# has two analyses this page re-runs:
#
# * **Rank correlation** (its last cell, verified): for the kernels that survive to the last pruning
#   round, Spearman's rank correlation between each kernel's SNR (|mean| / std of the search
#   distribution) at the first round and its SNR at round i, for every i, in the SNR-pruned run; and the
#   same for |θ| in the magnitude-pruned (ticket) run; averaged over seeds. The paper's run is Fetch with
#   SNES; here the default image task, where ES and pruning are cheap enough for many seeds.
# * **Relative SNR advantage** (its first cell): (SNR − IMP) / SNR at the first round, per round, of
#   the seed-mean test performance of SNR pruning and magnitude pruning (ES-IMP).
#
# Both runs train together from the same θ₀ per seed (the runs of [B6](b6_connectivity_flatness.ipynb),
# shared through the store). Rounds are counted from 0 here: round 0 is the dense network, the paper's
# "IMP iteration 1" (its axis label says "It 0").
#
# **The claims.** The paper reports the correlations as a figure and states no threshold. We test
# "the ranks are stable" as: per seed, ρ with round 0 averaged over the later rounds is above 0.5 (a
# strong correlation by the usual convention; our choice), one-sided signed-rank test over seeds, Holm
# over this page; verdicts as in [How we decide](how_we_decide.md).
#
# **Scale.** The table below lists every value next to the paper's: 8×8 digits with the paper's CNN
# instead of Fetch, SNES at a far smaller budget, 7 rounds of 50 % pruning instead of 20 rounds of
# 20 %, and 8 seeds instead of 5.

# %% tags=["parameters"]
profile = "default"
task = None
strategy = None
rounds = None
prune_fraction = None
seeds = None
generations = None
population = None
batch_size = None
gd_epochs = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
import textwrap

from nevolab import plotting, registry, report, store
from nevolab.studies.b import landscape_pages as b_landscape
from nevolab.studies.b import landscape_runs as b_landscape_runs

config = registry.configure_from("b7_snr_correlation", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The pruning runs are stored under `data/results/study_b_landscape/` (with the trained networks and
# search stds beside their table), the correlations under `data/results/study_b_snr_correlation/`,
# this page's claims under its own key.

# %% tags=["hide-input"]
correlations, summary, measured = b_landscape.cached_correlations(config, fresh=fresh)
claims, provenance = b_landscape.stored_correlation_claims(config, fresh=fresh)
_, runs_record = store.load(b_landscape.landscape_run(config), b_landscape_runs.SUMMARY_COLUMNS)
for what, record in (("pruning runs", runs_record), ("correlations", measured), ("claims", provenance)):
    print(textwrap.fill(f"{what}: {store.describe(record)}", 90, subsequent_indent="  "))
survivors = correlations.groupby("seed").survivors.first()
print(f"kernels surviving to the last round: {survivors.min()}–{survivors.max()} per seed")

# %% [markdown]
# ## Figure: rank correlation with round 0, and the relative SNR advantage
# Left: Spearman's ρ between a surviving kernel's value at round 0 and at each round, mean ± standard
# deviation over seeds: SNR in the SNR-pruned run (blue dashes, crosses), |θ| in the magnitude-pruned run
# (orange, circles). Right: the relative SNR advantage over ES-IMP per round (mean over seeds, band ±
# one standard error of the per-seed values); above 0, SNR pruning leads.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullFormatter


def kept_axis(ax, kept):
    """A log axis of the share of kernels kept, dense on the left, ticks at the rounds' values."""
    ax.set_xscale("log")
    ax.set_xticks(list(kept))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(max(kept) * 1.15, min(kept) / 1.15)
    ax.set_xlabel("kernels kept (%)")


plotting.set_theme("paper")
advantage = b_landscape.relative_advantage(summary)
fig, axes = plotting.grid(2, panel_height=3.0)
for quantity, style, label in (("snr", "snr", "SNR (ES-SNR run)"),
                               ("magnitude", "magnitude", "|θ| (ES-IMP run)")):
    rows = correlations[correlations.quantity == quantity]
    summary_rows = plotting.summarise(rows, "weights_remaining", "rho")
    plotting.band(axes[0], summary_rows.weights_remaining, summary_rows.center,
                  (summary_rows.low, summary_rows.high), style, label=label)
axes[0].axhline(b_landscape.STABLE_CORRELATION, color="grey", linestyle=":", linewidth=1)
axes[0].set_ylabel("Spearman ρ with round 0")
axes[0].set_title("rank correlation, surviving kernels")
spread = advantage.standard_error
plotting.band(axes[1], advantage.weights_remaining, advantage.advantage,
              (advantage.advantage - spread, advantage.advantage + spread), "snr",
              label="(SNR − IMP) / SNR at round 0")
axes[1].axhline(0.0, color="grey", linewidth=1)
axes[1].set_ylabel("relative SNR advantage")
axes[1].set_title("ES-SNR against ES-IMP")
for ax in axes:
    kept_axis(ax, advantage.weights_remaining)
plotting.figure_legend(fig, axes, ncol=3)
plotting.finish(fig)
plt.show()

# %% [markdown]
# The numbers behind the figure (seed means):

# %% tags=["hide-input"]
from IPython.display import display

table = correlations.pivot_table(index=["round", "weights_remaining"], columns="quantity", values="rho")
table = table.rename(columns={"snr": "ρ SNR", "magnitude": "ρ |θ|"}).join(
    advantage.set_index(["round", "weights_remaining"])[["advantage"]].rename(
        columns={"advantage": "relative SNR advantage"}))
table.index = [f"round {r} ({w:.3g} % kept)" for r, w in table.index]
display(plotting.format_table(table))

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]
import pandas as pd

from nevolab.studies.b import paper as b_paper

LABELS = b_landscape.CORRELATION_LABELS
report.styled(pd.DataFrame([{"claim": LABELS[c.key], "what the paper shows": c.sentence,
                             "tested as": c.operationalisation, "where": c.paper_value}
                            for c in b_paper.LANDSCAPE_CLAIMS if c.key in LABELS]))

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown
from myst_nb import glue

display(report.styled(report.compact(claims, LABELS)))
counts = claims.verdict.value_counts()
for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered"):
    glue(f"b7_{verdict.replace(' ', '_')}", int(counts.get(verdict, 0)), display=False)
glue("b7_total", len(claims), display=False)
glue("b7_findings", HTML(report.as_html(report.findings(claims, LABELS))), display=False)

# %% [markdown]
# ## What this shows at this page's scale
# Written when the page is built, from the tables above.

# %% tags=["hide-input"]
later = correlations[correlations["round"] > 0]
final = correlations[correlations["round"] == correlations["round"].max()].groupby("quantity").rho.mean()
mean = later.groupby("quantity").rho.mean()
pruned = advantage[advantage["round"] > 0]
ahead = pruned[pruned.advantage > 0]
text = [f"Over the rounds after the dense one, the surviving kernels' rank correlation with round 0 "
        f"averages {mean['snr']:.3f} for SNR and {mean['magnitude']:.3f} for |θ| (seed means); at the last "
        f"round it is {final['snr']:.3f} and {final['magnitude']:.3f}. SNR pruning leads magnitude pruning "
        + (f"in {len(ahead)} of {len(pruned)} pruned rounds." if len(ahead) else "in no round.")]
for row in claims.itertuples():
    text.append(f"- {report.describe(claims.loc[row.Index], LABELS[row.claim])}")
Markdown("\n".join(text))
