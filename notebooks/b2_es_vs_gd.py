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
# # B2: evolution strategies against gradient descent under pruning
#
# The paper's Fig. 3 compares, per task, the ES ticket curve (ES-SNR with the task's strategy)
# against iterative magnitude pruning with gradient descent (GD-IMP: Adam with lr 3e-4 and batch 128
# for 2 epochs per round on MNIST-type data; PPO on control tasks), both with masked gradients or a
# masked search space, one global threshold, and rewinding to θ₀. Its aggregated panel — and the
# right half of Fig. 1 — normalises every task's curves to [0, 1] with the min and max of their means
# and averages over tasks. The reading: ES stay trainable at sparsities where GD collapses ("ES beats
# GD at high sparsity"; the paper's Fig. 3 on MNIST at 1.44 %: ES ≈ 0.93 vs GD ≈ 0.84 accuracy).
#
# Here GD-IMP runs on the image tasks with Adam (same CNN, same θ₀ per seed, same rounds as the ES
# runs) and on the control tasks with PPO (`nevolab.baselines.ppo`, purejaxrl-style: the actor is the ES
# policy network itself, so both prune the same kernels from the same θ₀; masked weights and
# gradients; the critic is never pruned and is rewound with the actor; the original's Pendulum
# settings for the number of environments, the learning-rate schedule, γ, GAE λ, the clip and the
# epochs × minibatches, printed from the runs table below). Two choices of ours: the rollout length
# per update (the original's value is not in the repository) and rewards scaled by a running std of
# the discounted return (purejaxrl's normalisation; without it the critic's gradients swamp the
# global-norm clip and PPO barely learns Pendulum at this budget). `ppo_timesteps = 0` drops the PPO
# baseline.
#
# **Scale.** As B1 (the ES runs are B1's, from the same cache); the table below lists every value
# next to the paper's. The `default` profile gives PPO the paper's environment steps per round, and
# Adam more epochs than the paper's 2: on the small digits set 2 epochs would be few Adam steps (the
# compute cell below prints how many), and more epochs are still cheap next to the ES. Whether the
# dense PPO network clears the bar the dense ES network is held to is said under the dense check below.

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

from nevolab import plotting, registry, report, store
from nevolab.studies.b import analysis as b_analysis
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import pages as b_pages
from nevolab.studies.b import sentences as b_sentences

config = registry.configure_from("b2_es_vs_gd", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The ES runs come from the shared cache (computed by B1 if it has not run; `fresh=True` on this
# page recomputes the GD runs and this page's table, not the ES runs — rerun B1 with `fresh` for
# those). GD-IMP runs are cached per task under `data/results/study_b_runs/`.

# %% tags=["hide-input"]
results, provenance = b_pages.page_table(config, fresh=fresh)
# Wrapped to fit the column, and written at once: a separate newline can land in its own output box.
print(textwrap.fill(store.describe(provenance), 90, subsequent_indent="  ") + "\n", end="")
gd_tasks = sorted(set(results[results.method == "GD"].task_key))
print("tasks with a GD baseline:", ", ".join(map(plotting.display_name, gd_tasks)) or "none")
# The settings as the runs table records them, so the page shows what ran rather than what the text
# says should have run.
for line in b_pages.gd_settings(results, config):
    print(line)

# %% [markdown]
# ## Figure: ES-SNR against GD-IMP per task
# Test performance against the share of kernels kept, mean ± standard error over seeds: ES-SNR in blue
# dashes with crosses, GD-IMP (Adam on images, PPO on control) in black with circles. A task without a
# GD baseline shows the ES curve alone.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from nevolab.studies.b import figures as b_figures

fig = b_figures.task_curves(results, list(config.tasks), ["snr", "gd"], ncol=2)
plt.show()

# %% [markdown]
# ## Figure: the aggregated panels
# Left, the "aggregated ES ticket effect": ES-SNR, ES-IMP and ES-Random, every task normalised with
# the min and max of these three curves' means, then averaged over tasks. Right, "aggregated ES vs
# GD": ES-SNR and GD-IMP normalised together per task, over the tasks that have a GD baseline.
# Bands: the tasks' standard errors in normalised units, averaged (as the paper's notebook). On the
# left, **ES-SNR (blue dashes, crosses) lies on ES-IMP (orange, circles) wherever the two criteria
# pick the same ticket** (B1's agreement table says in which rounds); the orange line shows through
# the gaps of the blue one.

# %% tags=["hide-input"]
ticket_curves = [c for c in ("snr", "magnitude", "random") if c in set(results.criterion)]
ticket = b_analysis.aggregate_curves(b_analysis.normalise_per_task(results, ticket_curves))
with_gd = results[results.task_key.isin(gd_tasks)]
versus = (b_analysis.aggregate_curves(b_analysis.normalise_per_task(with_gd, ["snr", "gd"])) if gd_tasks
          else None)
fig = b_figures.aggregated_panels([(ticket, ticket_curves, "aggregated ES ticket effect"),
                                   (versus, ["snr", "gd"], "aggregated ES vs. GD")])
plt.show()

# %% [markdown]
# ## Are the dense ES networks trained?
# A ticket curve says little if its first point is an under-trained network. Study B's bar for the
# dense (round 0) ES network, seed mean: on a control task a test return above −250 or within 100 of
# the GD baseline's (PPO); on an image task a test accuracy of at least 0.90. Computed from the runs
# above:

# %% tags=["hide-input"]
from IPython.display import Markdown, display

dense = b_analysis.dense_training_check(results)
display(report.styled(b_analysis.dense_shown(dense, plotting.display_name)))
met = dense[dense.met]
display(Markdown(f"{len(met)} of {len(dense)} tasks clear the bar"
                 + ("." if len(met) == len(dense) else
                    f"; not: {', '.join(map(plotting.display_name, dense[~dense.met].task))} "
                    f"(profile {config.profile}).")
                 + "\n\n" + " ".join(b_analysis.gd_bar_sentences(dense, plotting.display_name))))

# %% [markdown]
# ## The claim this figure makes
# "ES beats GD at high sparsity": per task with a GD baseline, and pooled, the paired (same seed,
# same θ₀) differences ES-SNR − GD-IMP of test performance averaged over the rounds that keep at
# most 10 % of the kernels, in the task's normalised units: their Hodges–Lehmann pseudo-median with
# its signed-rank 95 % interval, a one-sided Wilcoxon signed-rank test, Holm-corrected over the
# claim's rows (its tasks and the pooled row; the same on every page). The exact test stops at 1/2ⁿ
# for n seeds: a row whose floor, corrected over the claim's rows, stays above p = 0.05 is
# *underpowered* (the text below says whether a task's row can decide at this page's seeds). First,
# the raw numbers at the sparsest round (mean and standard deviation over seeds).

# %% tags=["hide-input"]
sparsest = b_analysis.sparsest_table(results, plotting.display_name)
display(plotting.format_table(sparsest, formats=b_analysis.task_formats(sparsest.columns)))

# %% [markdown]
# The claims of this page, per task and pooled (shift in normalised units; Holm p is "–" where the
# sample size cannot reach p ≤ 0.05, or where the runs lack the claim's tasks, Hopper and Grasp):

# %% tags=["hide-input"]
stored = b_pages.figure_claims(config)  # B4's table: the same numbers on every page
if stored.empty:
    print("no task has both ES-SNR and GD-IMP runs: the ES-vs-GD claim cannot be tested here")
else:
    claims = report.compact(stored.assign(scope=stored.scope.map(plotting.display_name)), b_claims.LABELS)
    display(report.styled(claims.drop(columns="test") if claims.test.nunique() == 1 else claims))


# %% [markdown]
# ## What this shows at this page's scale
# The text below is written when the page is built, from this page's tables (the curves, the raw
# numbers at the sparsest round and the claim): other parameters give other numbers, and the
# sentences follow them.

# %% tags=["hide-input"]
Markdown(b_sentences.es_vs_gd_findings(results, stored, config, b_claims.LABELS))
