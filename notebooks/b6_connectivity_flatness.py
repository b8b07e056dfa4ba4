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
# # B6: linear mode connectivity and flatness, ES against GD
#
# The paper's abstract says that "ES, unlike GD, explore diverse and flat local optima and do not
# preserve linear mode connectivity across sparsity levels and independent runs" (its Fig. 6). The
# notebook behind that figure (`f6_viz_connect.ipynb`) is not in the public repository, so neither
# are its recipe nor its numbers ([originals.md §2.4](originals.md)). This page re-runs the question
# with a recipe of ours, written down below, on the networks of one pruning run per method: ES with
# SNR pruning (ES-SNR) and iterative magnitude pruning with Adam (GD-IMP), from the **same θ₀ per
# seed**, with the same rounds and pruning schedule, rewinding to θ₀ after every round.
#
# ## The recipe, and why
#
# * **Which networks.** ES: the final search mean of each round (the network the SNR criterion
#   scores and the paper evaluates); GD: the final Adam weights. Pruned weights are 0.
# * **Error barrier** (linear mode connectivity; Frankle et al. 2020). Along θ(α) = (1−α)θ_A + αθ_B
#   on an even grid of α (parameter `alphas`), the test error (1 − accuracy) is compared with the
#   straight line between the endpoints' errors; the barrier is the largest excess,
#   max_α [err(θ(α)) − ((1−α) err(θ_A) + α err(θ_B))]. We subtract the chord rather than Frankle et
#   al.'s mean of the endpoint errors because consecutive rounds have **different** errors (the
#   sparser one is usually worse): the mean form would count half of that difference as a barrier even
#   on a perfectly linear path. Both forms agree when the endpoint errors are equal.
# * **Between what.** *Consecutive rounds*: round r−1 and round r of one seed (two sparsity levels of
#   one run; the paper's "across sparsity levels"). *Independent runs*: seed s and the next seed in
#   the list (a ring, so every network is in two pairs) at the same round; the paper's seeds differ in
#   θ₀ and in the ES noise, as here.
# * **Connected** means a barrier below 2 % test error, Frankle et al.'s threshold.
# * **Sharpness.** Li et al. (2018)'s filter-normalised random directions: a Gaussian draw, masked to
#   the ticket, each filter (a conv filter or a dense unit's incoming weights) rescaled to the norm of
#   the network's own filter, biases left out. Along `directions` such directions d, the test
#   cross-entropy L(θ + t·d) on `steps` points t ∈ [−`span`, `span`]; a least-squares quadratic
#   a·t² + b·t + c per direction, whose curvature 2a is the sharpness along d, averaged over
#   directions. Filter normalisation makes the measure blind to the rescaling of a ReLU layer that
#   leaves the function unchanged, so ES and GD networks of different weight norms compare fairly. The
#   fit over a short span (half a filter norm each side) measures the basin at its bottom, where a
#   quadratic describes it, rather than the walls further out. The loss (not the error) is used because
#   it is smooth in t; the same Gaussian draws serve every method, round and seed.
# * **2-D surfaces**: the test loss on a `surface_points` × `surface_points` grid spanned by two more
#   such directions, for the dense round, a middle round and the last round (first seed).
#
# ## The claims
#
# From the abstract's sentence, five tests, every one paired by seed (ES and GD of a seed share θ₀):
# ES is flatter than GD (lower curvature); ES's consecutive rounds and its independent seeds are less
# connected than GD's (higher barrier); ES's consecutive rounds are not linearly connected (barrier
# above 2 %), and GD's are ("unlike GD": barrier below 2 %, a non-inferiority test). Each seed's value
# is averaged over the rounds where **both methods are trained**, which we define as a seed-mean test
# accuracy of at least 0.5 (five times chance): a network at chance gives nearly the same output
# whatever its weights, so its loss is flat and its barriers vanish, and counting such rounds would
# credit a collapsed GD network with flatness and connectivity. The figures show every round. The
# verdicts follow [How we decide](how_we_decide.md), Holm over this page.
#
# **Scale.** The table below lists every value next to the paper's: the default runs 8×8 digits with
# the paper's CNN, SNES at a much smaller budget than the paper's 4,000 generations × 128 on MNIST, 7
# rounds of 50 % pruning instead of 20 rounds of 20 %, and 8 seeds (the paper's 5 first, then more, so
# that a paired test can decide after Holm's correction).

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
alphas = None
directions = None
steps = None
span = None
surface_points = None
surface_span = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
import textwrap

from nevolab import plotting, registry, report, store
from nevolab.studies.b import landscape_pages as b_landscape
from nevolab.studies.b import landscape_runs as b_landscape_runs

config = registry.configure_from("b6_connectivity_flatness", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The pruning runs (shared with [B7](b7_snr_correlation.ipynb): same parameters, same key) are stored
# under `data/results/study_b_landscape/`, with the trained networks beside their table; the
# measurements under `data/results/study_b_landscape_measures/`; this page's claims under its own key.

# %% tags=["hide-input"]
measures, summary, measured = b_landscape.cached_connectivity(config, fresh=fresh)
claims, provenance = b_landscape.stored_connectivity_claims(config, fresh=fresh)
_, runs_record = store.load(b_landscape.landscape_run(config), b_landscape_runs.SUMMARY_COLUMNS)
for what, record in (("pruning runs", runs_record), ("measurements", measured), ("claims", provenance)):
    print(textwrap.fill(f"{what}: {store.describe(record)}", 90, subsequent_indent="  "))

# %% [markdown]
# Test accuracy of the measured networks per round (mean over seeds), and the rounds the claims use
# (both methods trained):

# %% tags=["hide-input"]
from IPython.display import display

METHODS = {b_landscape.ES_METHOD: "snr", b_landscape.GD_METHOD: "gd"}  # page key -> the book's style
LABELS = b_landscape.METHOD_LABELS
last = int(summary["round"].max())
remaining = summary.groupby("round").weights_remaining.first()
trained = b_landscape.trained_rounds(summary)
accuracy = summary[summary.method.isin(METHODS)].pivot_table(index="round", columns="method",
                                                               values="test_score", aggfunc="mean")
accuracy = accuracy[list(METHODS)].rename(columns=LABELS)
accuracy.insert(0, "kernels kept (%)", remaining)
accuracy["used by the claims"] = ["yes" if r in trained else "no" for r in accuracy.index]
display(plotting.format_table(accuracy.rename_axis(columns=None)))

# %% [markdown]
# ## Figure: error barriers, consecutive rounds and independent seeds
# Mean ± standard deviation over seeds (left: over seeds; right: over neighbouring seed pairs) against
# the share of kernels kept (for consecutive rounds, the sparser round's). ES-SNR in blue dashes with
# crosses, GD-IMP in black with circles; the dotted line is the 2 % threshold of "linearly connected".

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
fig, axes = plotting.grid(2, panel_height=3.0, sharey=True)
for ax, measure, title in ((axes[0], "barrier_rounds", "round r−1 → round r"),
                           (axes[1], "barrier_seeds", "seed s → next seed, same round")):
    for method, style in METHODS.items():
        rows = measures[(measures.measure == measure) & (measures.method == method)]
        plotting.mean_band(ax, rows, "weights_remaining", "value", style)
    ax.axhline(b_landscape.CONNECTED_MARGIN, color="grey", linestyle=":", linewidth=1)
    kept_axis(ax, remaining)
    ax.set_title(title)
axes[0].set_ylabel("test-error barrier")
plotting.figure_legend(fig, axes, ncol=2)
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## Figure: sharpness per round
# Left: the quadratic-fit curvature of the test loss, per seed averaged over directions, then mean ±
# standard deviation over seeds. Right: the test loss along each direction through the first seed's
# dense network and its sparsest round (thin lines, one per direction), the curves whose quadratic fits
# give the left panel's points.

# %% tags=["hide-input"]
curvature = (measures[measures.measure == "curvature"]
             .groupby(["method", "round", "seed"], as_index=False)
             .agg(value=("value", "mean"), weights_remaining=("weights_remaining", "first")))
profiles = measures[measures.measure == "profile"]
fig, axes = plotting.grid(2, panel_height=3.0)
for method, style in METHODS.items():
    plotting.mean_band(axes[0], curvature[curvature.method == method], "weights_remaining", "value", style)
kept_axis(axes[0], remaining)
axes[0].set_ylabel("curvature 2a of the test loss")
axes[0].set_title("curvature per round")
for method, style in METHODS.items():
    for r, linestyle in ((0, "-"), (last, "--")):
        rows = profiles[(profiles.method == method) & (profiles["round"] == r)]
        for d, line in rows.groupby("direction"):
            axes[1].plot(line.x, line.value, color=plotting.method_color(style), linestyle=linestyle,
                         linewidth=1, alpha=0.7,
                         label=f"{LABELS[method]}, {remaining[r]:.3g} % kept" if d == 0 else None)
axes[1].set_xlabel("step t along a direction")
axes[1].set_ylabel("test loss (cross-entropy)")
axes[1].set_title("1-D profiles, first seed")
axes[1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
plotting.figure_legend(fig, axes[:1], ncol=2)
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## Figure: 2-D loss surfaces for three rounds
# The test loss around the first seed's network of the dense round, a middle round and the last round
# (columns), ES-SNR on top and GD-IMP below, on the plane of two filter-normalised directions (axes in
# units of the filters' norms; the network sits at the centre, marked +). Contours at the same levels
# in every panel; the colour saturates at the levels' top.

# %% tags=["hide-input"]
import numpy as np

surfaces = measures[measures.measure == "surface"]
shown = sorted(surfaces["round"].unique())
low, high = surfaces.value.min(), surfaces.value.quantile(0.95)
levels = np.linspace(low, high, 12)
fig, axes = plt.subplots(2, len(shown), figsize=(plotting.FIGURE_WIDTH_IN, 4.0), sharex=True, sharey=True,
                         squeeze=False)
for i, method in enumerate(METHODS):
    for j, r in enumerate(shown):
        grid_rows = surfaces[(surfaces.method == method) & (surfaces["round"] == r)]
        surface = grid_rows.pivot_table(index="y", columns="x", values="value")
        ax = axes[i, j]
        filled = ax.contourf(surface.columns, surface.index, surface.clip(upper=high), levels=levels,
                             cmap="viridis")
        ax.plot([0], [0], marker="+", color="white", markersize=8)
        if i == 0:
            ax.set_title(f"{remaining[r]:.3g} % kept")
        if j == 0:
            ax.set_ylabel(LABELS[method])
        ax.set_aspect("equal")
fig.colorbar(filled, ax=axes, shrink=0.8, label="test loss")
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]
import pandas as pd

from nevolab.studies.b import paper as b_paper

LABELS_CLAIMS = b_landscape.CONNECTIVITY_LABELS
report.styled(pd.DataFrame([{"claim": LABELS_CLAIMS[c.key], "the paper says": f"“{c.sentence}”",
                             "tested as": c.operationalisation, "the paper shows": c.paper_value}
                            for c in b_paper.LANDSCAPE_CLAIMS if c.key in LABELS_CLAIMS]))

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown
from myst_nb import glue

if claims.empty:
    display(Markdown("No round has both methods trained at this scale, so no claim can be tested."))
else:
    display(report.styled(report.compact(claims, LABELS_CLAIMS)))
counts = claims.verdict.value_counts()
for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered"):
    glue(f"b6_{verdict.replace(' ', '_')}", int(counts.get(verdict, 0)), display=False)
glue("b6_total", len(claims), display=False)
glue("b6_findings", HTML(report.as_html(report.findings(claims, LABELS_CLAIMS))), display=False)

# %% [markdown]
# ## What this shows at this page's scale
# Written when the page is built, from the tables above: other parameters give other numbers, and the
# sentences follow them.

# %% tags=["hide-input"]
def mean_of(measure, method, rounds):
    rows = measures[(measures.measure == measure) & (measures.method == method)]
    rows = rows[rows["round"].isin(rounds)]
    if measure == "barrier_rounds":
        rows = rows[(rows["round"] - 1).isin(rounds)]
    return rows.groupby("seed").value.mean().mean()


es, gd = b_landscape.ES_METHOD, b_landscape.GD_METHOD
means = summary.pivot_table(index="round", columns="method", values="test_score", aggfunc="mean")
text = [f"Dense, GD-IMP reaches {means[gd].iloc[0]:.3f} test accuracy and ES-SNR {means[es].iloc[0]:.3f} "
        f"(seed means); at the last round ({remaining[last]:.3g} % kept) {means[gd].iloc[-1]:.3f} and "
        f"{means[es].iloc[-1]:.3f}."]
if trained:
    rounds_es, rounds_gd = mean_of("barrier_rounds", es, trained), mean_of("barrier_rounds", gd, trained)
    seeds_es, seeds_gd = mean_of("barrier_seeds", es, trained), mean_of("barrier_seeds", gd, trained)
    text[0] += (f" Both are trained (accuracy ≥ {b_landscape.TRAINED_ACCURACY}) in "
                f"{b_landscape.rounds_text(trained, summary)}; there, averaged over rounds and seeds, the "
                f"barrier between consecutive rounds is {rounds_es:.3f} for ES-SNR and {rounds_gd:.3f} for "
                f"GD-IMP, between neighbouring seeds {seeds_es:.3f} and {seeds_gd:.3f}, and the curvature "
                f"{mean_of('curvature', es, trained):.3g} and {mean_of('curvature', gd, trained):.3g}.")
    if means[es].iloc[0] < means[gd].iloc[0]:
        text[0] += (" The ES networks are less well trained than GD's at this budget, so their curvature is "
                    "measured further from a minimum: a confound the paper's longer ES runs would reduce.")
else:
    text[0] += " In no round are both methods trained, so the claims cannot be tested here."
for row in claims.itertuples():
    text.append(f"- {report.describe(claims.loc[row.Index], LABELS_CLAIMS[row.claim])}")
Markdown("\n".join(text))
