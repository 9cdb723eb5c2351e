"""Adversarial generation (Lightning, manual optimisation). Twin of `keras_task.py` beside it."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from experiments.tasks.torch_base import LabTask
from modules.gan.spec import DCGAN_ADAM, N_GRID, N_SAMPLES, fixed_noise, to_pixels
from modules.optim.torch_optim import make_optimizer


class GenerateTask(LabTask):
    """A GAN: per batch, one discriminator step then one generator step (Goodfellow et al. 2014).

    Losses are binary cross-entropy on logits; the generator uses the non-saturating loss
    (-log D(G(z))). Real pixels in [0, 1] are mapped to the generator's [-1, 1].
    """

    LR_KEYS = ("train/lr_discriminator", "train/lr_generator")  # configure_optimizers' order

    def __init__(self, network, lr: float = 2e-4, optimizer: str = "adam", **schedule) -> None:
        super().__init__(network, lr, optimizer, **schedule)  # the config allows only "constant"
        self.automatic_optimization = False
        self.initial_samples = self.sample(fixed_noise(N_SAMPLES, network.latent_dim))

    def configure_optimizers(self):
        def make(params):
            if self.optimizer_name == "adam":  # the paper's Adam (beta_1 = 0.5)
                return torch.optim.Adam(params, self.lr, betas=(DCGAN_ADAM["beta_1"], DCGAN_ADAM["beta_2"]),
                                        eps=DCGAN_ADAM["epsilon"])
            return make_optimizer(self.optimizer_name, params, self.lr)

        return [make(self.network.discriminator.parameters()), make(self.network.generator.parameters())]

    def _adversarial_losses(self, real: torch.Tensor, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        generator, discriminator = self.network.generator, self.network.discriminator
        z = torch.randn(len(real), self.network.latent_dim, device=real.device)
        fake = generator(z)
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        if train:
            d_optimizer, _ = self.optimizers()
            d_optimizer.zero_grad()
            self.manual_backward(d_loss)
            d_optimizer.step()
        fooled = discriminator(fake)  # the updated discriminator judges the same fakes
        g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        if train:
            _, g_optimizer = self.optimizers()
            g_optimizer.zero_grad()
            self.manual_backward(g_loss)
            g_optimizer.step()
        return d_loss, g_loss

    def _step(self, batch, stage: str) -> torch.Tensor:
        real = batch[0] * 2.0 - 1.0  # pixels [0, 1] -> tanh range
        if stage == "train":
            d_loss, g_loss = self._adversarial_losses(real, train=True)
        else:
            with torch.no_grad():
                d_loss, g_loss = self._adversarial_losses(real, train=False)
        self.epoch_means[stage].add(len(real), d_loss=d_loss, g_loss=g_loss)
        return g_loss

    def sample(self, noise: np.ndarray) -> np.ndarray:
        """Generated images for `noise`, in pixels [0, 1], (N, C, H, W); evaluation mode."""
        generator = self.network.generator
        was_training = generator.training
        generator.eval()
        with torch.inference_mode():
            images = generator(torch.from_numpy(noise)).numpy()
        generator.train(was_training)
        return to_pixels(images)

    def epoch_outputs(self) -> np.ndarray:
        """The grid samples of this epoch (the same noise every epoch)."""
        return self.sample(fixed_noise(N_GRID, self.network.latent_dim, offset=1))

    def predict_split(self, datamodule, split: str) -> dict:
        """`samples` of the trained generator and `initial_samples` of the untrained one, same noise."""
        return {"samples": self.sample(fixed_noise(N_SAMPLES, self.network.latent_dim)),
                "initial_samples": self.initial_samples}
