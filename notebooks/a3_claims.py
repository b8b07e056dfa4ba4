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
# # A3: the paper's claims, tested
#
# Each claim of Gobbi & Konotopska in the paper's own words, made measurable, and tested on the final
# running-min losses of every case and algorithm under **both modes**: `faithful` (the original
# code's quirks, which the authors tuned their hyperparameters on) and `corrected` (the algorithms
# as described). Claims between bio-inspired algorithms are also compared at **equal network
# evaluations**, since corrected DE evaluates twice its population per generation.
#
# Every verdict follows the rule on [How we decide](../book/how_we_decide.md): a Hodges–Lehmann
# shift with its distribution-free 95% interval, a one-sided rank test Holm-corrected within the
# claim and mode (its family: the claim's scopes, the same on every page), and equivalence-type tests
# for the claims that say two things are alike. Their margin is on each case's scale: the paper's
# gap relative to the paper's loss in its own figure, times our loss in that case (stated below with
# its source). A claim the paper words without a number is tested for its direction; where a word
# such as "much" or "limitedly" needs a number, that number is ours and decides only an extra row
# whose name says "ours", never the paper's claim. Rows decided where both medians sit at the loss
# floor say so.

# %% tags=["parameters"]
profile = "default"
cases = None
algorithms = None
repeats = None
lstm_repeats = None
generations = None
seed = None
modes = None
fresh = False

# %% [markdown]
# ## Parameters

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from nevolab import registry, report, store
from nevolab.studies.a import analysis, pages
from nevolab.studies.a import claims as a_claims

config = registry.configure_from("a3_claims", globals())
print(f"profile: {config.profile}   results key: {config.hash()}")
config.table()

# %% [markdown]
# ## Compute
# The runs are shared with A1 and A2 (cached per case, algorithm and mode under
# `data/results/study_a_runs/`); this page stores its claims table under `data/results/a3_claims/`.

# %% tags=["hide-input"]
claims, provenance = pages.claims(config, fresh=fresh)
print(store.describe(provenance))

# %% [markdown]
# ## The claims, as the paper words them
# Each claim's sentence, how we test it, its margin (or threshold) and where the margin comes from.
# The margin of a "no difference" claim is the largest gap of that kind relative to its level that
# the paper's own figure shows (read from the original repository's plots, at a level the reading
# can resolve), applied to our median loss of the reference in each case; the raw gap it replaces is
# shown beside it.

# %% tags=["hide-input"]
report.styled(analysis.claim_sentences())

# %% [markdown]
# ## Wall time and variance (the paper's claims A.8–A.11)
# Read from the runs' wall times (one timed run per case and algorithm, paired within a case: the
# algorithms of a case were timed on one machine) and from the spread of their final losses. The
# `detail` column gives the numbers behind each row.

# %% tags=["hide-input"]
report.styled(analysis.timing_rows(claims))

# %% tags=["remove-input"]
Markdown(analysis.not_at_scale_sentence(claims))

# %% [markdown]
# ## Rows of ours
# Where the paper's word needs a number it does not give, the number is ours; these rows show what
# it would say, and never count as the paper's claim (the scorecard leaves them out).

# %% tags=["hide-input"]
report.styled(analysis.extra_rows(claims))

# %% [markdown]
# ## Rows at the loss floor

# %% tags=["remove-input"]
Markdown(analysis.floor_sentence(claims))

# %% [markdown]
# ## Verdicts under both modes
# One row per claim and scope: the verdict with the original code's quirks (`faithful`) and with
# the algorithms as described (`corrected`).

# %% tags=["hide-input"]
side_by_side = a_claims.modes_side_by_side(claims)
report.styled(side_by_side)

# %% [markdown]
# ## Where the modes disagree

# %% tags=["hide-input"]
disagree = side_by_side[side_by_side.agree == "no"]
display(Markdown(analysis.disagreement_note(side_by_side)))

# %% [markdown]
# ## Which quirk is responsible

# %% tags=["hide-input"]
from nevolab.studies.a import ablation

quirk_tests = ablation.claim_ablation(claims, config)
if not quirk_tests.empty:
    display(report.styled(analysis.responsible_quirks(quirk_tests, disagree).reset_index()))
    display(report.styled(analysis.per_quirk_verdicts(quirk_tests)))
glue("a3_quirks", HTML(report.as_html(analysis.responsible_list(quirk_tests, disagree))), display=False)

# %% [markdown]
# ## Case I: the paper's figure, the authors' code and NevoLab
# A2 sets the three side by side for every algorithm; this is the claim "CoSyNE beats backprop on
# Case I" in plain words.

# %% tags=["hide-input"]
from nevolab.studies.a import peer

if "I" in config.cases and {"backprop", "cosyne"} <= set(config.algorithms):
    case_one = pages.case_one_finals(config)
    statement = peer.case_one_statement(case_one.groupby("algorithm").best_loss.median())
    glue("a3_case_one", HTML(report.as_html(statement)), display=False)
    display(Markdown(statement))

# %% [markdown]
# ## Every test
# Shift = Hodges–Lehmann estimate of (first − second) final loss; negative means the first-named
# is lower. For the "gap widens" claims it is a contrast of medians with a bootstrap interval; for
# the wall-time claims, the paired pseudo-median of log₂ time ratios.

# %% tags=["hide-input"]
report.styled(report.compact(claims))

# %% [markdown]
# ## Summary

# %% tags=["hide-input"]
counts = report.verdict_counts(claims)
for mode, row in counts.iterrows():
    for verdict, count in row.items():
        glue(f"a3_{mode}_{verdict.replace(' ', '_')}", int(count), display=False)
glue("a3_total", len(claims), display=False)
glue("a3_findings", HTML(report.as_html(report.findings(claims))), display=False)
glue("a3_disagree", len(disagree), display=False)
glue("a3_compared", analysis.compared(side_by_side), display=False)
glue("a3_floor", len(analysis.floor_rows(claims)), display=False)
counts
