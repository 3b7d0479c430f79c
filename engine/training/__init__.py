"""How the embedded default model is made: procedural data, training, and a pixel-level judge.

Not imported by the engine at run time; the product of this package is the diffusers folder in
engine/default_model/weights, loaded like any other model.
"""
