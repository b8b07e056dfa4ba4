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
hidden = None
vision_generations = None
vision_population = None
batch_size = None
gd_epochs = None
ppo_timesteps = None
fresh = False

# %% [markdown]
# ## Parameters

# %%
from nevolab import plotting, registry, store
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import runs as b_runs
from nevolab.studies.b import tasks as b_tasks

config = registry.configure_from("b3_ticket_decomposition", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# Reads B1's ES runs from the shared cache (computing them if needed; rerun B1 with `fresh` to
# recompute them). This page's table — every seed's components per round in normalised units — is
# cached by config hash.

# %%
import pandas as pd

DECOMPOSED = ["magnitude", "permute_values", "permute_mask", "random"]


def compute():
    es = b_runs.es_runs(config)
    return b_analysis.ticket_decomposition(b_analysis.normalise_per_task(es, DECOMPOSED))


decomposition, provenance = store.cached(config, compute, fresh=fresh,
                                         seeds={"seeds": b_tasks.seeds_for(config.seeds)})
print(store.describe(provenance))

# %% [markdown]
# ## Figure
# Per task and round: the three components (bars, mean over seeds, in units of the task's range of
# the four curves' means) and their sum, the ticket effect ES-IMP − ES-Random (black line, mean ±
# standard error over seeds). Positive = the ingredient helps.

# %%
import matplotlib.pyplot as plt

plotting.set_theme()
components = [name for name, *_ in b_analysis.DECOMPOSITION]
colors = {"weights": plotting.method_color("permute_values"),
          "mask positions": plotting.method_color("permute_mask"),
          "layerwise ratio": plotting.method_color("random")}
task_list = list(config.tasks)
fig, axes = plt.subplots(1, len(task_list), figsize=(5.6 * len(task_list), 4.2), layout="constrained",
                         squeeze=False, sharey=True)
for ax, task in zip(axes[0], task_list, strict=True):
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
    ax.set_xticks(remaining.index, [f"{w:.3g}" for w in remaining], fontsize=8)
    ax.set_xlabel("weights remaining [%]")
    ax.set_title(task)
axes[0][0].set_ylabel("difference in normalised performance")
fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8)
plt.show()

# %% [markdown]
# ## How much of the ticket effect does each ingredient carry?
# Averaged over the rounds that keep at most 10 % of the kernels (or the last round): every
# component's mean over seeds with a 95 % bootstrap interval over the paired seeds, per task and
# pooled over tasks. An interval that excludes zero says the ingredient matters at this scale.

# %%
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
table = pd.DataFrame(rows)
display(table.style.format({"mean": "{:+.3f}", "low": "{:+.3f}", "high": "{:+.3f}"}).hide(axis="index"))

# %% [markdown]
# ## What this shows at the default scale
# (Read from the committed `default` results.) The two tasks disagree on what a ticket is. On the
# digits the **weights** carry most of the effect: keeping the mask but shuffling θ₀'s surviving
# values within each layer loses nearly everything the ticket had over a random mask. On Pendulum the
# **mask positions** carry most of it at high sparsity, and the weights less. The layerwise ratio
# adds little on either task at ≤ 6 %. With three seeds and two small tasks this is a description of
# these runs, not a general law.
