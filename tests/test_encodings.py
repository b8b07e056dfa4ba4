import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import fft, fftpack

from nevolab.encodings import dct_basis, make_encoding, split_coefficients
from nevolab.tasks.autoencoders import init_ff_autoencoder


@pytest.fixture
def template():
    return init_ff_autoencoder(jax.random.key(3), 8)  # 98 parameters


def flat(params):
    return jax.flatten_util.ravel_pytree(params)[0]


def test_direct_round_trip(template):
    encoding = make_encoding("direct", template)
    assert encoding.num_genes == encoding.num_params == 98
    genotype = encoding.encode(template)
    np.testing.assert_array_equal(flat(encoding.decode(genotype)), flat(template))


def test_dct_basis_matches_scipy():
    coefficients = np.random.default_rng(0).normal(size=7)
    np.testing.assert_allclose(dct_basis(20, 7) @ coefficients, fft.idct(coefficients, n=20, norm="ortho"),
                               atol=1e-12)
    signal = np.random.default_rng(1).normal(size=20)
    np.testing.assert_allclose(dct_basis(20, 7).T @ signal, fft.dct(signal, norm="ortho")[:7], atol=1e-12)


@pytest.mark.parametrize("name", ["dct_global", "dct_per_layer"])
def test_full_length_dct_is_lossless(template, name):
    encoding = make_encoding(name, template, num_coefficients=98)
    decoded = flat(encoding.decode(encoding.encode(template)))
    np.testing.assert_allclose(decoded, flat(template), atol=1e-5)


def test_truncated_dct_is_the_least_squares_projection(template):
    encoding = make_encoding("dct_global", template, num_coefficients=30)
    genotype = encoding.encode(template)
    decoded = encoding.decode_flat(genotype)
    residual = flat(template) - decoded
    # The residual of an orthogonal projection is orthogonal to the retained basis.
    np.testing.assert_allclose(jnp.asarray(dct_basis(98, 30)).T @ residual, 0.0, atol=1e-5)


def test_faithful_dct_truncates_the_vector_like_fftpack(template):
    encoding = make_encoding("dct_global", template, num_coefficients=30, faithful=True)
    expected = fftpack.dct(np.asarray(flat(template), dtype=np.float64), n=30, norm="ortho")
    np.testing.assert_allclose(encoding.encode(template), expected, atol=1e-5)
    decoded = encoding.decode_flat(jnp.asarray(expected, jnp.float32))
    np.testing.assert_allclose(decoded, fftpack.idct(expected, n=98, norm="ortho"), atol=1e-5)


def test_per_layer_shares_genes_by_size():
    shares = split_coefficients([36, 4, 8, 2], 20)
    assert sum(shares) == 20 and all(s >= 1 for s in shares)
    assert shares[0] == max(shares)


@pytest.mark.parametrize("k", [0, 99])
def test_impossible_dct_length_is_rejected(template, k):
    with pytest.raises(ValueError, match="98"):
        make_encoding("dct_global", template, num_coefficients=k)


def test_unknown_encoding(template):
    with pytest.raises(ValueError, match="valid: direct"):
        make_encoding("fourier", template)


def test_decode_vmaps(template):
    encoding = make_encoding("dct_per_layer", template, num_coefficients=40)
    genotypes = jax.random.normal(jax.random.key(0), (5, 40))
    decoded = jax.vmap(encoding.decode_flat)(genotypes)
    assert decoded.shape == (5, 98)
