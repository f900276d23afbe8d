# An independent check of thaw's ONNX export of text models: evaluates the
# exported graphs with numpy, op by op, on the ids test_text_layers uses, and
# compares with the outputs thaw printed. Usage: onnx_eval.py DIR THAW_OUTPUT
# (tests/text/run.sh makes both). Exit 1 on a difference above 1e-5.
import onnx, numpy as np, sys
from onnx import numpy_helper
def run(path, x):
    m = onnx.load(path); g = m.graph
    onnx.checker.check_model(m, full_check=True)
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env[g.input[0].name] = x
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [env[k] for k in n.input]
        op = n.op_type
        if op == 'Flatten': r = i[0].reshape(i[0].shape[0], -1)
        elif op == 'Cast': r = i[0].astype({7: np.int64, 1: np.float32}[a['to']])
        elif op == 'Gather': r = np.take(i[0], i[1], axis=a.get('axis', 0))
        elif op == 'Transpose': r = np.transpose(i[0], a['perm'])
        elif op == 'Unsqueeze': r = np.expand_dims(i[0], tuple(i[1]))
        elif op == 'Equal': r = i[0] == i[1]
        elif op == 'Not': r = ~i[0]
        elif op == 'ReduceSum': r = i[0].sum(axis=tuple(i[1]), keepdims=True)
        elif op == 'ReduceMax': r = i[0].max(axis=tuple(a['axes']), keepdims=True)
        elif op == 'ReduceMean': r = i[0].mean(axis=tuple(a['axes']), keepdims=True)
        elif op in ('Mul', 'Div', 'Sub', 'Add', 'Max', 'Min'):
            r = {'Mul': np.multiply, 'Div': np.divide, 'Sub': np.subtract, 'Add': np.add, 'Max': np.maximum, 'Min': np.minimum}[op](i[0], i[1])
        elif op == 'Relu': r = np.maximum(i[0], 0)
        elif op == 'Gemm': r = i[0] @ i[1].T + (i[2] if len(i) > 2 else 0)
        elif op == 'Conv':
            X, W = i[0], i[1]; B = i[2] if len(i) > 2 else 0
            p = a['pads']; X = np.pad(X, ((0,0),(0,0),(p[0],p[2]),(p[1],p[3])))
            N, C, H, Wd = X.shape; F, _, kh, kw = W.shape
            r = np.zeros((N, F, H-kh+1, Wd-kw+1), np.float32)
            for y in range(r.shape[2]):
                for xx in range(r.shape[3]):
                    r[:, :, y, xx] = np.einsum('nchw,fchw->nf', X[:, :, y:y+kh, xx:xx+kw], W)
            r += np.asarray(B).reshape(1, -1, 1, 1)
        else: raise SystemExit('op ' + op)
        env[n.output[0]] = np.asarray(r)
    return env[g.output[0].name]
ids = np.array([3, 0, 3, 7, 0, 0, 2, 9, 4, 11, 6, 0], np.float32).reshape(2, 1, 1, 6)
bad = 0
for line in open(sys.argv[2]):
    if ' thaw:' not in line:
        continue
    label, vals = line.split(' thaw:')
    want = np.array([float(v) for v in vals.split()], np.float32)
    got = run('%s/%s.onnx' % (sys.argv[1], label.strip()), ids).ravel()
    d = float(np.max(np.abs(got - want)))
    print('%-14s max difference %.2e' % (label.strip(), d))
    bad += d > 1e-5
sys.exit(1 if bad else 0)
