from fpgac.compress.models import lenet5
from fpgac.compress.prune import prune_model, sparsity_report
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.costs import footprint, ir_footprint, ir_layer_macs, weight_costs

# LeNet-5 dense MACs: conv1 6*25*28*28, conv2 16*150*10*10, conv3 120*400, fc1 120*84, fc2 84*10
LENET_MACS = {"conv1": 117600, "conv2": 240000, "conv3": 48000, "fc1": 10080, "fc2": 840}


def test_weight_costs_are_output_pixels_of_convs_and_one_for_linear():
    assert weight_costs(lenet5(seed=0)) == {"conv1": 784, "conv2": 100, "conv3": 1, "fc1": 1,
                                            "fc2": 1}


def test_footprint_of_dense_and_pruned_lenet():
    model = lenet5(seed=0)
    fp = footprint(model)
    assert fp.macs == fp.nonzero_macs == sum(LENET_MACS.values()) == 416520
    assert fp.params == fp.nonzero_params == 61706
    prune_model(model, "l1", 0.5)
    half = footprint(model)
    rows, _ = sparsity_report(model)
    assert half.nonzero_macs == sum(r.nonzero_macs for r in rows)
    assert half.nonzero_params == sum(r.nonzero for r in rows) + (fp.params - rows_weights(rows))
    red = half.reduction(fp)
    assert abs(red["macs_x"] - 2.0) < 0.01 and red["params_x"] < 2.0   # biases not pruned


def rows_weights(rows):
    return sum(r.weights for r in rows)


def test_ir_counts_match_the_float_counts(calib_small):
    model = lenet5(seed=0)
    prune_model(model, "global-l1", 0.8)
    q = quantize_model(model, calibrate(model, calib_small), 8)
    per_layer = {name: (macs, nz) for name, macs, nz in ir_layer_macs(q)}
    assert {n: m for n, (m, _) in per_layer.items()} == LENET_MACS
    rows, _ = sparsity_report(model)
    for r in rows:      # a pruned 0.0 is exactly wz; a non-zero weight may round onto wz
        assert per_layer[r.name][1] <= r.nonzero_macs
        assert per_layer[r.name][1] >= r.nonzero_macs * 0.95
    fq = ir_footprint(q)
    assert fq.macs == 416520 and fq.params == footprint(model).params
    assert fq.nonzero_macs == sum(nz for _, nz in per_layer.values())
