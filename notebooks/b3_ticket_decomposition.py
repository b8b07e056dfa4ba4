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
# # B3: what makes an ES ticket — weights, mask positions or layerwise ratio?
#
# The paper's permutation controls (`final-ticket_permute`, `final_permute-ticket_permute`) take the
# magnitude ticket apart. Between ES-IMP and the random re-initialisation lie three ingredients:
#
# 1. **weights**: the particular θ₀ values on the ticket — ES-IMP ("mask/weights") minus
#    "mask/permuted" (same mask, θ₀'s surviving values shuffled within each layer);
# 2. **mask positions**: which connections within a layer survive — "mask/permuted" minus
#    "permuted/permuted" (the mask shuffled within each layer, so each layer keeps its sparsity);
# 3. **layerwise ratio**: how many weights each layer keeps — "permuted/permuted" minus ES-Random
#    (a global random mask, so per-layer sparsity is not preserved, with a fresh initialisation).
#
# The three differences add up exactly to the ticket effect ES-IMP − ES-Random. The paper reports
# the controls as curves (and says the ticket effect needs the mask *and* the weights); it gives no
# decomposition, so this page is an analysis of our own on its controls. Whether the permutation
# curves appear in the paper's Fig. 2 or only its appendix is unverified (`originals.md` §2.4).
#
# **Scale.** As B1, whose runs this page reads.

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
import textwrap

from nevolab import plotting, registry, store
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import runs as b_runs

config = registry.configure_from("b3_ticket_decomposition", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# Reads B1's ES runs from the shared cache (computing them if needed; rerun B1 with `fresh` to
# recompute them). This page's table — every seed's components per round in normalised units — is
# cached by config hash.

# %% tags=["hide-input"]
import pandas as pd

DECOMPOSED = ["magnitude", "permute_values", "permute_mask", "random"]


def compute():
    es = b_runs.es_runs(config)
    return b_analysis.ticket_decomposition(b_analysis.normalise_per_task(es, DECOMPOSED))


decomposition, provenance = store.cached(config, compute, fresh=fresh)
# Wrapped to fit the column, and written at once: a separate newline can land in its own output box.
print(textwrap.fill(store.describe(provenance), 90, subsequent_indent="  ") + "\n", end="")

# %% [markdown]
# ## Figure
# Per task and round: the three components (bars, mean over seeds, in units of the task's range of
# the four curves' means) and their sum, the ticket effect ES-IMP − ES-Random (black line, mean ±
# standard error over seeds). Positive = the ingredient helps.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

plotting.set_theme("paper")
components = [name for name, *_ in b_analysis.DECOMPOSITION]
colors = {"weights": plotting.method_color("permute_values"),
          "mask positions": plotting.method_color("permute_mask"),
          "layerwise ratio": plotting.method_color("random")}
task_list = list(config.tasks)
fig, axes = plotting.grid(len(task_list), panel_height=3.0, sharey=True)
for ax, task in zip(axes, task_list, strict=True):
    rows = decomposition[decomposition.task_key == task]
    means = rows.groupby(["round", "component"]).value.mean().unstack()
    rounds_ = means.index.to_numpy()
    width = 0.8 / len(components)
    for i, name in enumerate(components):
        ax.bar(rounds_ + (i - 1) * width, means[name], width=width, color=colors[name], label=name)
    total = b_analysis.mean_sem(rows[rows.component == "ticket effect"], "value", ["round"])
    ax.errorbar(total["round"], total["mean"], yerr=total["sem"], color="black", marker="o", markersize=4,
                linewidth=1.6, capsize=3, label="ticket effect (sum)")
    ax.axhline(0, color="black", linewidth=0.6)
    remaining = rows.groupby("round").weights_remaining.first()
    ax.set_xticks(remaining.index, [f"{w:.3g}" for w in remaining])
    ax.set_xlabel("weights remaining [%]")
    ax.set_title(plotting.display_name(task))
axes[0].set_ylabel("difference in normalised performance\n(share of the task's range)")
plotting.figure_legend(fig, axes, ncol=4)
plotting.finish(fig)
plt.show()

# %% [markdown]
# ## How much of the ticket effect does each ingredient carry?
# Averaged over the rounds that keep at most 10 % of the kernels (or the last round): every
# component's mean over seeds with a 95 % bootstrap interval over the paired seeds, per task and
# pooled over tasks. An interval that excludes zero says the ingredient matters at this scale.

# %% tags=["hide-input"]
from IPython.display import display

from nevolab import stats

high = b_analysis.high_sparsity_rounds(decomposition)
subset = decomposition[decomposition["round"].isin(high)]
per_seed = subset.groupby(["task_key", "component", "seed"]).value.mean().reset_index()
rows = []
for scope in [*task_list, "all tasks"]:
    scoped = per_seed if scope == "all tasks" else per_seed[per_seed.task_key == scope]
    for component in [*components, "ticket effect"]:
        values = scoped[scoped.component == component].value.to_numpy()
        mean, low, high_ = stats.bootstrap_mean(values)
        rows.append({"scope": scope, "component": component, "mean": mean, "low": low, "high": high_,
                     "n": values.size})
table = pd.DataFrame(rows).assign(scope=lambda t: t.scope.map(plotting.display_name))
table = table.rename(columns={"low": "95 % low", "high": "95 % high"})
signed = dict.fromkeys(["mean", "95 % low", "95 % high"], "{:+.3f}")
display(plotting.format_table(table, formats=signed).hide(axis="index"))

# %% [markdown]
# ## What this shows at this page's scale
# The text below is written when the page is built, from the table above: other parameters give
# other numbers, and the sentences follow them.

# %% tags=["hide-input"]
from IPython.display import Markdown

from nevolab import report

kept = subset.groupby("round").weights_remaining.mean()
span = " to ".join(dict.fromkeys(f"{kept[r]:.3g} %" for r in (min(high), max(high))))
# What losing each ingredient means, in the terms of the controls.
LOST_BY = {"weights": "shuffling θ₀'s surviving values within each layer, mask kept,",
           "mask positions": "shuffling the mask within each layer",
           "layerwise ratio": "a global random mask instead of the per-layer shares"}
carriers, sentences = {}, []
for task in task_list:
    rows = table[table.scope == plotting.display_name(task)].set_index("component")
    total = rows.at["ticket effect", "mean"]
    ranked = rows.loc[components, "mean"].sort_values(ascending=False)
    top = ranked.index[0]
    carriers[task] = top
    # "Most of it" only where the top ingredient is more than half of a positive effect; above the
    # whole effect the other ingredients pull the other way, and the text says so.
    share = ranked.iloc[0] / total if total > 0 else float("nan")
    if 0.5 < share <= 1:
        lead = (f"most of the ticket effect comes from the **{top}** ({share:.0%} of it: {LOST_BY[top]} "
                "loses it)")
    elif share > 1:
        lead = (f"the **{top}** give more than the whole ticket effect, and the other ingredients cancel "
                "part of it")
    else:
        lead = "no single ingredient carries most of the ticket effect"
    excludes = [c for c in components if rows.at[c, "95 % low"] > 0 or rows.at[c, "95 % high"] < 0]
    sentences.append(
        f"On {plotting.display_name(task)} {lead}: ticket effect {report.number(total)}, "
        + ", ".join(f"{c} {report.number(rows.at[c, 'mean'])}" for c in ranked.index)
        + f" (interval excluding zero: {', '.join(excludes) if excludes else 'none'}).")
agree = len(set(carriers.values())) == 1
text = (f"Means over the rounds that keep {span} of the kernels, in normalised units. " + " ".join(sentences)
        + (" The tasks agree on what carries a ticket." if agree and len(task_list) > 1 else
           " The tasks disagree on what carries a ticket." if len(task_list) > 1 else "")
        + f" With {config.seeds} seeds and {len(task_list)} small task{'s' if len(task_list) > 1 else ''} "
        "this is a description of these runs, not a general law.")
Markdown(text)
