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
# # B4: the lottery-ticket claims, tested
#
# The paper's claims on this part, each tested per task and pooled over tasks:
#
# 1. **Tickets beat random**: ES-SNR and ES-IMP train to better networks than sparsity-matched
#    random masks with fresh weights (ES-Random), at high sparsity (Fig. 1 right, Fig. 2).
# 2. **SNR is trainable at higher sparsity than magnitude**: ES-SNR > ES-IMP at high sparsity
#    (the paper's Fig. 1 right: its aggregated SNR curve ends near 0.45, IMP near 0.3).
# 3. **ES beat GD at high sparsity**: ES-SNR > GD-IMP (Fig. 1 right, Fig. 3; not on Walker2d and
#    ur5e in the paper).
# 4. Three claims that need tasks or strategies beyond these runs: the ticket effect is larger on the
#    simple tasks than on complex Brax control (HalfCheetah, Hopper), ES beat GD already at moderate
#    sparsity on Hopper and Grasp, and the decomposition of the ticket effect is robust to the ES. Each
#    is a row **not tested at scale** with the setting it needs, unless the runs hold those tasks.
#
# Each claim compares two pruning curves of the **same seeds** (same θ₀, same ES noise) through
# the task-normalised test performance averaged over the rounds that keep at most 10 % of the
# kernels (the last round if none does), in units of the task's range of curve means (the paper's
# min–max normalisation, so tasks can be pooled). The verdict follows [How we decide](how_we_decide.md):
# the Hodges–Lehmann pseudo-median of the paired differences with its signed-rank interval, a
# one-sided Wilcoxon signed-rank test Holm-corrected over the claim's rows (its tasks and the pooled
# row: the same family on every page that shows them), and **underpowered** where the number of seeds
# cannot reach p ≤ 0.05 once corrected over that family.
#
# **Scale.** As B1 and B2, whose runs this page reads.
#
# The paper's other claims are tested where their figures are: transfer across tasks, across ES and
# to GD on [B5](b5_transfer.ipynb), mode connectivity and flatness on
# [B6](b6_connectivity_flatness.ipynb), the SNR/|θ| rank correlation on [B7](b7_snr_correlation.ipynb).
# The [Scorecard](scorecard.ipynb) gathers all of them, with this page's.

# %% tags=["parameters"]
profile = "default"
tasks = None
strategy = None
criteria = None
rounds = None
prune_fraction = None
seeds = None
control_generations = None
control_population = None
rollouts = None
test_rollouts = None
episode_steps = None
hidden = None
vision_generations = None
vision_population = None
batch_size = None
gd_epochs = None
ppo_timesteps = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from nevolab import registry, store
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import pages as b_pages

config = registry.configure_from("b4_claims", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# Reads the ES runs (B1) and GD runs (B2) from the shared cache, computing any that are missing.

# %% tags=["hide-input"]
claims, provenance = b_pages.page_table(config, fresh=fresh)
print(store.describe(provenance))

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]
from nevolab import report
from nevolab.studies.b import paper as b_paper

report.styled(b_claims.paper_table(b_paper.CLAIMS, b_claims.LABELS))

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
report.styled(report.compact(claims, b_claims.LABELS))

# %% [markdown]
# ## Verdicts at a glance

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown, display
from myst_nb import glue

summary = claims.assign(claim=claims.claim.map(b_claims.LABELS)).pivot_table(
    index="claim", columns="scope", values="verdict", aggfunc="first")
display(report.styled(summary.reset_index()))
counts = claims.verdict.value_counts()
for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered", "not tested at scale"):
    glue(f"b4_{verdict.replace(' ', '_')}", int(counts.get(verdict, 0)), display=False)
glue("b4_total", len(claims), display=False)
glue("b4_findings", HTML(report.as_html(report.findings(claims, b_claims.LABELS))), display=False)

# %% [markdown]
# ## Reading the table

# %% tags=["hide-input"]
from nevolab.studies.b import sentences as b_sentences

display(Markdown(b_sentences.claims_reading(claims, b_claims.LABELS)))
