"""One entry per architecture: everything the library, scripts and dashboard look up by its name.

Plain values only (builders are named, not imported), so the dashboard and the benchmark grid can read
labels and panels without loading Keras. A new architecture needs its model module and an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.config import ConvNNConfig, ModelConfig, PaccMannConfig, TDNNConfig


@dataclass(frozen=True)
class ArchitectureSpec:
    """``drug_input`` is the drug encoder's kind ("descriptors" or "tokens"); ``builder`` the dotted path of
    ``build(config, *, n_genes, <sizes>)``; the pre-training budget is the committed bundles' (it fits a 2-core
    CPU in under an hour; ``None`` pairs: every usable GDSC1 pair)."""

    label: str
    panel: str
    drug_input: str
    config_class: type[ModelConfig]
    builder: str
    pretraining_pairs: int | None
    pretraining_batch_size: int
    pretraining_epochs: int


SPECS: dict[str, ArchitectureSpec] = {
    "tdnn": ArchitectureSpec(
        label="tDNN",
        panel="tdnn",
        drug_input="descriptors",
        config_class=TDNNConfig,
        builder="core.models.tdnn.build_tdnn",
        pretraining_pairs=None,
        pretraining_batch_size=512,
        pretraining_epochs=20,
    ),
    "convnn": ArchitectureSpec(  # shares tDNN's GDSC/LINCS/OncoKB panel
        label="ConvNN",
        panel="tdnn",
        drug_input="tokens",
        config_class=ConvNNConfig,
        builder="core.models.convnn.build_convnn",
        pretraining_pairs=None,
        pretraining_batch_size=512,
        pretraining_epochs=10,
    ),
    "paccmann": ArchitectureSpec(  # about 10 minutes per epoch over all pairs on 2 cores: a random subset
        label="PaccMann",
        panel="paccmann",
        drug_input="tokens",
        config_class=PaccMannConfig,
        builder="core.models.paccmann.build_paccmann",
        pretraining_pairs=60_000,
        pretraining_batch_size=256,
        pretraining_epochs=10,
    ),
}
