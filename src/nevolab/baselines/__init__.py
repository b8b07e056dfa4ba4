"""Gradient-descent IMP baselines of Study B, on the shared round driver of :mod:`nevolab.pruning.rounds`:
Adam on the image tasks (:mod:`~nevolab.baselines.adam`) and PPO on the control tasks
(:mod:`~nevolab.baselines.ppo`)."""
