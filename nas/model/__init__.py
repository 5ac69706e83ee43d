"""The network: ops, the super-net, packing, the evaluation engines. Torch."""
