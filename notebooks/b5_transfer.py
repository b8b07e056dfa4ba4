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
from nevolab.studies.b import paper as b_paper
from nevolab.studies.b import transfer as b_transfer

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
frame, claims, provenance = b_transfer.stored_transfer(config, fresh=fresh)
print(textwrap.fill(store.describe(provenance), 90, subsequent_indent="  ") + "\n", end="")
chosen = b_transfer.panels_for(config)
for panel in chosen:
    source, own = b_transfer.source_run(panel, config), b_transfer.own_run(panel, config)
    budget = (f"{own.generations} generations × {own.population}" if hasattr(own, "generations")
              else f"{own.epochs} Adam epoch{'s' * (own.epochs != 1)}" if hasattr(own, "epochs")
              else f"{own.timesteps:,} PPO steps")
    print(textwrap.fill(f"{b_transfer.panel_title(panel, config)}: source "
                        f"{plotting.display_name(source.strategy)} on {plotting.display_name(source.task)} "
                        f"({source.generations} × {source.population}); target {budget} per round", 90,
                        subsequent_indent="  "))

# %% tags=["hide-input"]
from nevolab.studies.b import runs as b_runs

shared = {run.hash() for run in b_runs.run_configs(config)}
added = [run for run in b_transfer.run_configs(config) if run.hash() not in shared]
records = b_runs.run_records(config, added)
print(textwrap.fill(b_runs.budget_sentence(records, b_runs.COMPUTE_BUDGET_MIN["page"], "The runs B5 adds",
                                           len(added)), 90))
plotting.format_table(records.assign(task=records.task.map(plotting.display_name),
                                     minutes=records.wall_time_s / 60.0,
                                     date=records.date.str.slice(0, 16).str.replace("T", " "))
                      .drop(columns="wall_time_s")).hide(axis="index")

# %% [markdown]
# ## Figure: the panels
# Test performance against the share of kernels kept, mean ± standard error over seeds: the
# transferred ticket in blue dashes with crosses, the target's own ticket in black with circles, the
# target's random re-initialisation in grey with triangles.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import tasks as b_tasks

STYLE_KEYS = {"own": "transfer_own", "random": "transfer_random", "transfer": "transfer"}
plotting.set_theme("paper")
fig, axes = plotting.grid(len(chosen), panel_height=3.0)
for ax, panel in zip(axes, chosen, strict=True):
    rows = frame[frame.panel == panel.id].assign(curve=lambda f: f.curve.map(STYLE_KEYS))
    b_analysis.draw_curves(ax, rows, list(STYLE_KEYS.values()))
    ax.set_title(f"{panel.kind}\n{b_transfer.panel_title(panel, config)}", fontsize=9)
    task = rows.task_key.iloc[0]
    ax.set_ylabel("test return" if b_tasks.task_family(task) == "gymnax" else "test accuracy")
plotting.figure_legend(fig, axes, ncol=3)
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## At high sparsity, per panel
# Each curve's test performance averaged over the rounds that keep at most 10 % of the kernels, mean
# over seeds, and the transfer's paired shift against the target's random re-initialisation and own
# ticket in the panel's normalised units (0 = the lowest curve mean of the panel, 1 = the highest).
# Descriptive: with one panel's seeds alone the exact test is underpowered once corrected over the
# page, so the claims below pool the panels of a kind.

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

high = b_analysis.high_sparsity_rounds(frame)
raw = (frame[frame["round"].isin(high)].groupby(["panel", "curve", "seed"]).test_performance.mean()
       .groupby(["panel", "curve"]).mean().unstack())
wide = b_transfer.per_seed(frame).reset_index()
shift = wide.assign(vs_random=wide.transfer - wide.random, vs_own=wide.transfer - wide.own
                    ).groupby("panel")[["vs_random", "vs_own"]].median()
rows = []
for panel in chosen:
    task = frame[frame.panel == panel.id].task_key.iloc[0]
    rows.append({"kind": panel.kind, "panel": b_transfer.panel_title(panel, config),
                 **{b_transfer.CURVE_LABELS[c]: b_analysis.performance_text(task, raw.loc[panel.id, c])
                    for c in b_transfer.CURVES},
                 "transfer − random (median, normalised)": f"{shift.loc[panel.id, 'vs_random']:+.2f}",
                 "transfer − own (median, normalised)": f"{shift.loc[panel.id, 'vs_own']:+.2f}"})
display(report.styled(pd.DataFrame(rows)))

# %% [markdown]
# ## Do SNR and magnitude choose different tickets? Per strategy
# The paper's SNR criterion (|θ|/σ) can only beat magnitude pruning (|θ|) where the search std σ
# differs between weights at the end of a round. Below, for every ES run this page reads, the share of
# the kernels SNR keeps after each round that magnitude pruning of the same final mean keeps too (mean
# over seeds; 1 = the same ticket). Where the two criteria choose nearly the same ticket, the "SNR
# beats magnitude" claim (B4) has nothing to measure; it can be tested only with a strategy whose σ
# moves away from its start.

# %% tags=["hide-input"]
agreement = b_transfer.agreement_by_strategy(config)
table = agreement.pivot_table(index=["strategy", "task"], columns="round", values="agreement")
table.columns = [f"round {r} ({agreement[agreement['round'] == r].weights_remaining.mean():.3g} %)"
                 for r in table.columns]
table.index = [f"{plotting.display_name(s)} · {plotting.display_name(t)}" for s, t in table.index]
display(report.styled(table.map(lambda v: f"{v:.2f}").rename_axis("strategy · task").reset_index()))
display(Markdown(b_transfer.agreement_sentence(agreement)))

# %% [markdown]
# ## The claims, as the paper words them

# %% tags=["hide-input"]
report.styled(pd.DataFrame([{"claim": b_transfer.LABELS[c.key], "the paper says": f"“{c.sentence}”",
                             "tested as": c.operationalisation, "the paper shows": c.paper_value}
                            for c in b_paper.TRANSFER_CLAIMS]))

# %% [markdown]
# ## Claims
# Pairs are (panel, seed) over a kind's panels; the effect is the Hodges–Lehmann pseudo-median of the
# paired differences in normalised units with its signed-rank 95 % interval; one-sided Wilcoxon
# signed-rank tests (TOST for the equivalence, margin ±0.1), Holm-corrected over this page, by the rule
# of [How we decide](how_we_decide.md).

# %% tags=["hide-input"]
report.styled(report.compact(claims, b_transfer.LABELS))

# %% tags=["hide-input"]
from IPython.display import HTML
from myst_nb import glue

glue("b5_findings", HTML(report.as_html(report.findings(claims, b_transfer.LABELS))), display=False)
lines = ["- " + report.describe(claims.loc[i], b_transfer.LABELS[claims.loc[i, "claim"]])
         for i in claims.index]
display(Markdown("\n".join(lines)))
