"""Hand-written algorithms in evosax's init/ask/tell shape: CoSyNE, DE, the (mu,rho,lambda)-EA and
the Deep GA."""
