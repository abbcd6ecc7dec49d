"""The paper's analyses: what in the optical drives the infrared, and how SED fitting fares.

- :mod:`specir.analysis.lines`: the one rest-frame line and feature list;
- :mod:`specir.analysis.stats`: bias, NMAD and χ²_N with bootstrap errors;
- :mod:`specir.analysis.attribute`: integrated gradients of the network's W1–W4 outputs;
- :mod:`specir.analysis.sedfit` and :mod:`specir.analysis.sedrun`: bagpipes fits of the optical
  data and their infrared predictions, scored against the truth.

Nothing here is imported by ``import specir``; each module imports its heavy dependencies
(captum, bagpipes, matplotlib) only when used.
"""
