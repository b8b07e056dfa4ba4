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
# **The claims.** The paper says "the correlation decreases for both SNR and IMP-based pruning runs as
# sparsity increases". We test that fall as it is worded: per seed, ρ with round 0 at the last round
# against ρ at the first compared round (round 1), a one-sided signed-rank test over seeds. The effect
# is the change in ρ (last − first; negative when it falls), and the table shows ρ itself at both
# rounds beside it. Holm over each claim's rows; verdicts as in [How we decide](how_we_decide.md).
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
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import pages as b_pages

config = registry.configure_from("b7_snr_correlation", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The pruning runs are stored under `data/results/study_b_landscape/` (with the trained networks and
# search stds beside their table), the correlations under `data/results/study_b_snr_correlation/`,
# this page's claims under its own key.

# %% tags=["hide-input"]
correlations, measured = b_pages.page_table(config, fresh=fresh)
claims, provenance = b_pages.claims(config, fresh=fresh)
summary, runs_record = b_pages.landscape_summary(config)
for what, record in (("pruning runs", runs_record), ("correlations", measured), ("claims", provenance)):
    print(textwrap.fill(f"{what}: {store.describe(record)}", 90, subsequent_indent="  "))
survivors = correlations.groupby("seed").survivors.first()
print(f"kernels surviving to the last round: {survivors.min()}–{survivors.max()} per seed")
print(textwrap.fill(b_analysis.dense_bar_sentence(summary), 90))

# %% [markdown]
# ## Figure: rank correlation with round 0, and the relative SNR advantage
# Left: Spearman's ρ between a surviving kernel's value at round 0 and at each round, mean ± standard
# deviation over seeds: SNR in the SNR-pruned run (blue dashes, crosses), |θ| in the magnitude-pruned run
# (orange, circles); the dotted line is ρ = 0. Right: the relative SNR advantage over ES-IMP per round
# (mean over seeds, band ± one standard error of the per-seed values); above 0, SNR pruning leads.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from nevolab.studies.b import figures as b_figures

advantage = b_analysis.relative_advantage(summary)
fig = b_figures.rank_correlations(correlations, advantage)
plt.show()

# %% [markdown]
# The numbers behind the figure (seed means):

# %% tags=["hide-input"]
from IPython.display import display

display(plotting.format_table(b_analysis.correlation_table(correlations, advantage)))

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]

from nevolab.studies.b import paper as b_paper

LABELS = b_claims.CORRELATION_LABELS
report.styled(b_claims.paper_table(b_paper.LANDSCAPE_CLAIMS, LABELS))

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown
from myst_nb import glue

if claims.empty:
    display(Markdown("Only one round is compared with round 0 at this scale, so no fall can be tested."))
else:
    display(report.styled(b_claims.with_rho_columns(report.compact(claims, LABELS), claims)))
counts = claims.verdict.value_counts()
for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered", "not tested at scale"):
    glue(f"b7_{verdict.replace(' ', '_')}", int(counts.get(verdict, 0)), display=False)
glue("b7_total", len(claims), display=False)
glue("b7_findings", HTML(report.as_html(report.findings(claims, LABELS))), display=False)

# %% [markdown]
# ## What this shows at this page's scale
# Written when the page is built, from the tables above.

# %% tags=["hide-input"]
from nevolab.studies.b import sentences as b_sentences

Markdown(b_sentences.correlation_findings(correlations, advantage, claims, LABELS))
