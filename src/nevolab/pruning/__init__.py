"""Iterative pruning (Lange & Sprekeler 2023, "Lottery Tickets in Evolutionary Optimization").

* :mod:`~nevolab.pruning.strategies`: evosax strategies, their search std, the original's tuned settings;
* :mod:`~nevolab.pruning.criteria`: scores and rewinds, registered by name;
* :mod:`~nevolab.pruning.masks`: prunable positions, the sparsity schedule, the next ticket;
* :mod:`~nevolab.pruning.rounds`: the one train → prune → rewind round driver (ES, Adam and PPO);
* :mod:`~nevolab.pruning.es`: the compiled ES round and the ES run;
* :mod:`~nevolab.pruning.results` and :mod:`~nevolab.pruning.checkpoints`.

The gradient baselines that use the same driver live in :mod:`nevolab.baselines`.
"""
