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
# credit a collapsed GD network with flatness and connectivity. The figures show every round.
#
# The paper's Section 5 and its SI add four more, tested on the same rounds and seeds: the ES and GD
# optima of a seed and round are not linearly connected to each other (barrier above 2 %); GD's
# weights are larger (mean |θ| of the kept weights); GD keeps more of the input layer (share of the
# first layer's kernels kept, over the pruned rounds); and GD's degradation comes with rising
# sharpness (per seed, Spearman's ρ over the rounds between GD's test error and its curvature, above
# 0). The three barrier rows show the barrier itself and the 2 % threshold in columns of their own.
# The verdicts follow [How we decide](how_we_decide.md), Holm over each claim's rows.
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
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import pages as b_pages

config = registry.configure_from("b6_connectivity_flatness", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The pruning runs (shared with [B7](b7_snr_correlation.ipynb): same parameters, same key) are stored
# under `data/results/study_b_landscape/`, with the trained networks beside their table; the
# measurements under `data/results/study_b_landscape_measures/`; this page's claims under its own key.

# %% tags=["hide-input"]
measures, measured = b_pages.page_table(config, fresh=fresh)
claims, provenance = b_pages.claims(config, fresh=fresh)
summary, runs_record = b_pages.landscape_summary(config)
for what, record in (("pruning runs", runs_record), ("measurements", measured), ("claims", provenance)):
    print(textwrap.fill(f"{what}: {store.describe(record)}", 90, subsequent_indent="  "))

# %% [markdown]
# Test accuracy of the measured networks per round (mean over seeds), and the rounds the claims use
# (both methods trained):

# %% tags=["hide-input"]
from IPython.display import display

remaining = summary.groupby("round").weights_remaining.first()
display(plotting.format_table(b_analysis.accuracy_table(summary)))
print(textwrap.fill(b_analysis.dense_bar_sentence(summary), 90))

# %% [markdown]
# ## Figure: error barriers, consecutive rounds and independent seeds
# Mean ± standard deviation over seeds (left: over seeds; right: over neighbouring seed pairs) against
# the share of kernels kept (for consecutive rounds, the sparser round's). ES-SNR in blue dashes with
# crosses, GD-IMP in black with circles; the dotted line is the 2 % threshold of "linearly connected".

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from nevolab.studies.b import figures as b_figures

fig = b_figures.barriers(measures, remaining, b_claims.CONNECTED_MARGIN)
plt.show()

# %% [markdown]
# ## Figure: sharpness per round
# Left: the quadratic-fit curvature of the test loss, per seed averaged over directions, then mean ±
# standard deviation over seeds. Right: the test loss along each direction through the first seed's
# dense network and its sparsest round (thin lines, one per direction), the curves whose quadratic fits
# give the left panel's points.

# %% tags=["hide-input"]
fig = b_figures.sharpness(measures, remaining)
plt.show()

# %% [markdown]
# ## Figure: 2-D loss surfaces for three rounds
# The test loss around the first seed's network of the dense round, a middle round and the last round
# (columns), ES-SNR on top and GD-IMP below, on the plane of two filter-normalised directions (axes in
# units of the filters' norms; the network sits at the centre, marked +). Contours at the same levels
# in every panel; the colour saturates at the levels' top.

# %% tags=["hide-input"]
fig = b_figures.surfaces(measures, remaining)
plt.show()

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]

from nevolab.studies.b import paper as b_paper

LABELS_CLAIMS = b_claims.CONNECTIVITY_LABELS
report.styled(b_claims.paper_table(b_paper.LANDSCAPE_CLAIMS, LABELS_CLAIMS))

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown
from myst_nb import glue

if claims.empty:
    display(Markdown("No round has both methods trained at this scale, so no claim can be tested."))
else:
    display(report.styled(b_claims.with_barrier_columns(report.compact(claims, LABELS_CLAIMS), claims)))
counts = claims.verdict.value_counts()
for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered", "not tested at scale"):
    glue(f"b6_{verdict.replace(' ', '_')}", int(counts.get(verdict, 0)), display=False)
glue("b6_total", len(claims), display=False)
glue("b6_findings", HTML(report.as_html(report.findings(claims, LABELS_CLAIMS))), display=False)

# %% [markdown]
# ## What this shows at this page's scale
# Written when the page is built, from the tables above: other parameters give other numbers, and the
# sentences follow them.

# %% tags=["hide-input"]
from nevolab.studies.b import sentences as b_sentences

Markdown(b_sentences.connectivity_findings(measures, summary, claims, LABELS_CLAIMS))
