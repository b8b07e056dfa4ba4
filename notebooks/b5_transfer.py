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
# # B5: ES tickets transferred across tasks, across ES and to gradient descent
#
# The paper's Figs 4/5 ask whether an ES ticket captures something beyond its own run: the SNR
# ticket of a **source** run (every round's mask and its rewound θ₀) is trained, as it is, by a
# **target** optimizer, and compared with the target's **own ticket** (its own SNR run, or GD-IMP)
# and with its **random re-initialisation** (a sparsity-matched random mask with fresh weights).
# This is what the original's `run_transfer.py` does with the saved `imp_nets_{i}.pkl`.
#
# Three kinds of transfer:
#
# * **across tasks**: the paper moves tickets from F-MNIST to MNIST and from Ant with torso mass 10
#   to mass 15. Offline, the related task here is the same image set **rotated by 90°** (same
#   shape, same labels, different pixels), both ways, with Sep-CMA-ES. Two more panels can be
#   chosen with `panels` (the paper profile has both): `task_heavy`, Pendulum with mass 1 → 1.5
#   (two more Pendulum ES runs, beyond this page's budget), and `task_fashion`, F-MNIST → MNIST
#   (it needs both downloads);
# * **across ES**: Sep-CMA-ES → DES, one of the paper's two pairs, here on the image task. The other,
#   SNES → PGPE (`es_pgpe`), is in the paper profile and can be chosen with `panels`: it needs two
#   more ES runs (the SNES source and PGPE's own), beyond this page's budget;
# * **ES → GD**: Adam on the image task (the paper: F-MNIST) and PPO on the control task (Ant).
#
# The source runs are Study B's shared runs (B1–B4) where they coincide, so this page adds only
# the targets. Each round's ES target draws the same randomness as the source (seed and round),
# so the transfer differs from the target's own ticket only in the ticket.
#
# **Scale.** That of B1–B4 (its parameters, shared); the paper's is 20 rounds of 20 % on Brax and
# MNIST-type tasks at 4,000 × 128, 5 seeds.

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
panels = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
import textwrap

from nevolab import plotting, registry, report, store
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import pages as b_pages
from nevolab.studies.b import paper as b_paper
from nevolab.studies.b import transfer_runs as b_transfer

config = registry.configure_from("b5_transfer", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# Reads the source runs and the targets' own runs from Study B's cache (computing any that are
# missing), then trains each panel's transferred tickets (cached per panel under
# `data/results/study_b_transfer/`). The default is meant to add at most 45 minutes of compute to
# B1–B4's shared runs on a 2-core CPU; the table lists the runs this page adds, and the line under it
# says whether they fit.

# %% tags=["hide-input"]
frame, provenance = b_pages.page_table(config, fresh=fresh)
claims, _ = b_pages.claims(config)
print(textwrap.fill(store.describe(provenance), 90, subsequent_indent="  ") + "\n", end="")
chosen = b_transfer.panels_for(config)
for line in b_pages.transfer_budgets(config):
    print(textwrap.fill(line, 90, subsequent_indent="  "))

# %% tags=["hide-input"]
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import runs as b_runs

added = b_pages.added_runs(config)
records = b_runs.run_records(config, added)
print(textwrap.fill(report.budget_sentence(records, b_runs.COMPUTE_BUDGET_MIN["page"], "The runs B5 adds",
                                               len(added)), 90))
plotting.format_table(b_analysis.records_shown(records, plotting.display_name)).hide(axis="index")

# %% [markdown]
# ## Figure: the panels
# Test performance against the share of kernels kept, mean ± standard error over seeds: the
# transferred ticket in blue dashes with crosses, the target's own ticket in black with circles, the
# target's random re-initialisation in grey with triangles.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from nevolab.studies.b import figures as b_figures

titles = {panel.id: b_transfer.panel_title(panel, config) for panel in chosen}
fig = b_figures.transfer_panels(frame, [(p.id, f"{p.relation}\n{titles[p.id]}") for p in chosen])
plt.show()

# %% [markdown]
# ## At high sparsity, per panel
# Each curve's test performance averaged over the rounds that keep at most 10 % of the kernels, mean
# over seeds, and the transfer's paired shift against the target's random re-initialisation and own
# ticket in the panel's normalised units (0 = the lowest curve mean of the panel, 1 = the highest).
# Descriptive: the claims below pool the panels of a kind.

# %% tags=["hide-input"]
from IPython.display import Markdown, display

summary = b_analysis.panel_summary(frame, [(p.id, p.relation, titles[p.id]) for p in chosen],
                                   b_transfer.CURVE_LABELS)
display(report.styled(summary))

# %% [markdown]
# ## Do SNR and magnitude choose different tickets? Per strategy
# The paper's SNR criterion (|θ|/σ) can only beat magnitude pruning (|θ|) where the search std σ
# differs between weights at the end of a round. Below, for every ES run this page reads, the share of
# the kernels SNR keeps after each round that magnitude pruning of the same final mean keeps too (mean
# over seeds; 1 = the same ticket). Where the two criteria choose nearly the same ticket, the "SNR
# beats magnitude" claim (B4) has nothing to measure; it can be tested only with a strategy whose σ
# moves away from its start.

# %% tags=["hide-input"]
agreement = b_pages.agreement_by_strategy(config)
display(report.styled(b_analysis.strategy_agreement_table(agreement, plotting.display_name)))
display(Markdown(b_analysis.agreement_sentence(agreement)))

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]
report.styled(b_claims.paper_table(b_paper.TRANSFER_CLAIMS, b_claims.TRANSFER_LABELS))

# %% [markdown]
# ## Claims
# Pairs are (panel, seed) over a kind's panels; the effect is the Hodges–Lehmann pseudo-median of the
# paired differences in normalised units with its signed-rank 95 % interval; one-sided Wilcoxon
# signed-rank tests (TOST for the equivalence; the margin of "the same level" and "does not outperform"
# is the smallest gap the paper itself calls a difference, stated with its source in the table above),
# Holm-corrected over each claim's rows, by the rule of [How we decide](how_we_decide.md). Whether the
# transfer effect tracks the ES–GD gap is a per-(panel, seed) Spearman ρ over the rounds, tested above 0.

# %% tags=["hide-input"]
report.styled(report.compact(claims, b_claims.TRANSFER_LABELS))

# %% tags=["hide-input"]
from IPython.display import HTML
from myst_nb import glue

from nevolab.studies.b import sentences as b_sentences

glue("b5_findings", HTML(report.as_html(report.findings(claims, b_claims.TRANSFER_LABELS))), display=False)
display(Markdown(b_sentences.described_claims(claims, b_claims.TRANSFER_LABELS)))
