"""Adversarial generation (Keras, own `train_step` as keras-io's DCGAN example).
Twin of `torch_task.py` beside it."""
from __future__ import annotations

import keras
import numpy as np

from experiments.tasks.keras_base import LabTask, to_channels_first
from modules import backend
from modules.gan.spec import DCGAN_ADAM, N_GRID, N_SAMPLES, fixed_noise, to_pixels
from modules.optim.keras_optim import make_optimizer

tf = backend.tensorflow()


class AdversarialModel(keras.Model):
    """Trains the `generator` and `discriminator` nested in a DCGAN network, in turn per batch."""

    def __init__(self, network: keras.Model) -> None:
        super().__init__(name=f"{network.name}_adversarial")
        self.network = network
        self.generator = network.get_layer("generator")
        self.discriminator = network.get_layer("discriminator")
        self.latent_dim = int(self.generator.inputs[0].shape[-1])
        self.noise = keras.random.SeedGenerator()  # seeded by keras.utils.set_random_seed
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_mean = keras.metrics.Mean(name="d_loss")
        self.g_loss_mean = keras.metrics.Mean(name="g_loss")
        self.built = True  # its networks are built; per-epoch checkpoints save its weights

    def compile(self, d_optimizer, g_optimizer) -> None:
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_mean, self.g_loss_mean]

    def _adversarial_step(self, real, train: bool):
        real = real * 2.0 - 1.0  # pixels [0, 1] -> tanh range
        n = tf.shape(real)[0]
        z = keras.random.normal((n, self.latent_dim), seed=self.noise)
        with tf.GradientTape() as g_tape:
            fake = self.generator(z, training=train)
            with tf.GradientTape() as d_tape:
                real_logits = self.discriminator(real, training=train)
                fake_logits = self.discriminator(tf.stop_gradient(fake), training=train)
                d_loss = (self.bce(tf.ones_like(real_logits), real_logits)
                          + self.bce(tf.zeros_like(fake_logits), fake_logits))
            if train:
                weights = self.discriminator.trainable_weights
                self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, weights), weights))
            fooled = self.discriminator(fake, training=train)  # the updated discriminator, same fakes
            g_loss = self.bce(tf.ones_like(fooled), fooled)
        if train:
            weights = self.generator.trainable_weights
            self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, weights), weights))
        batch = tf.cast(n, "float32")
        self.d_loss_mean.update_state(d_loss, sample_weight=batch)
        self.g_loss_mean.update_state(g_loss, sample_weight=batch)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        return self._adversarial_step(data[0], train=True)

    def test_step(self, data):
        return self._adversarial_step(data[0], train=False)


class GenerateTask(LabTask):
    """A GAN: per batch, one discriminator step then one generator step (Goodfellow et al. 2014).

    Losses are binary cross-entropy on logits; the generator uses the non-saturating loss
    (-log D(G(z))). Real pixels in [0, 1] are mapped to the generator's [-1, 1].
    """

    LR_KEYS = ("train/lr_discriminator", "train/lr_generator")  # optimizers()' order

    def __init__(self, network, lr: float = 2e-4, optimizer: str = "adam", **schedule) -> None:
        super().__init__(network, lr, optimizer, **schedule)  # the config allows only "constant"
        self.initial_samples = self.sample(fixed_noise(N_SAMPLES, self.model.latent_dim))

    def optimizers(self) -> list:
        return [self.model.d_optimizer, self.model.g_optimizer]

    def make_optimizer(self):
        if self.optimizer_name == "adam":  # the paper's Adam (beta_1 = 0.5)
            return keras.optimizers.Adam(self.lr, beta_1=DCGAN_ADAM["beta_1"], beta_2=DCGAN_ADAM["beta_2"],
                                         epsilon=DCGAN_ADAM["epsilon"])
        return make_optimizer(self.optimizer_name, self.lr)

    def compile(self, network: keras.Model) -> keras.Model:
        model = AdversarialModel(network)
        model.compile(d_optimizer=self.make_optimizer(), g_optimizer=self.make_optimizer())
        return model

    def sample(self, noise: np.ndarray) -> np.ndarray:
        """Generated images for `noise`, in pixels [0, 1], (N, C, H, W); inference mode."""
        images = self.model.generator.predict(noise, verbose=0, batch_size=256)
        return to_pixels(to_channels_first(images))

    def epoch_outputs(self) -> np.ndarray:
        """The grid samples of this epoch (the same noise every epoch)."""
        return self.sample(fixed_noise(N_GRID, self.model.latent_dim, offset=1))

    def predict_split(self, datamodule, split: str) -> dict:
        """`samples` of the trained generator and `initial_samples` of the untrained one, same noise."""
        return {"samples": self.sample(fixed_noise(N_SAMPLES, self.model.latent_dim)),
                "initial_samples": self.initial_samples}
