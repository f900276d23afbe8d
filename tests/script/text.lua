-- Text transfer end to end, on synthetic text written here: 4 topics, each
-- with 20 words of its own, drowned in 8 of 40 shared filler words per
-- text. The "pretrained" vectors (a GloVe file written here too) put each
-- topic's words near one centre, as vectors learnt from a corpus would.
-- With 4 labelled texts per topic, frozen pretrained vectors + a new head
-- must beat the same model on random vectors; the model saves its
-- vocabulary and predicts raw strings after loading; the data methods and
-- misuse work as documented.
local thaw = require "thaw"
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

math.randomseed(11)
local K, TOPIC, FILL, DIM = 4, 20, 40, 16
local function topic_word(c, i) return string.format("t%dw%d", c, i) end
local function fill_word(i) return string.format("fill%d", i) end
local function text_of(c)
	local w = {}
	for _ = 1, 4 do w[#w + 1] = topic_word(c, math.random(TOPIC)) end
	for _ = 1, 8 do w[#w + 1] = fill_word(math.random(FILL)) end
	for i = #w, 2, -1 do -- shuffle
		local j = math.random(i)
		w[i], w[j] = w[j], w[i]
	end
	return table.concat(w, math.random() < 0.5 and " " or ", ")
end
local function write_tsv(path, per)
	local f = assert(io.open(path, "w"))
	f:write("label\ttext\n")
	for c = 0, K - 1 do
		for _ = 1, per do f:write("topic", c, "\t", text_of(c):upper(), "\n") end
	end
	f:close()
end
write_tsv(dir .. "/train.tsv", 4)
write_tsv(dir .. "/test.tsv", 50)

-- the vectors: topic words near their topic's centre, filler words anywhere
local centre = {}
for c = 0, K - 1 do
	centre[c] = {}
	for d = 1, DIM do centre[c][d] = 2 * math.random() - 1 end
end
local f = assert(io.open(dir .. "/vectors.txt", "w"))
local function put(word, base, spread)
	local v = {}
	for d = 1, DIM do v[d] = string.format("%.5f", (base and base[d] or 0) + spread * (2 * math.random() - 1)) end
	f:write(word, " ", table.concat(v, " "), "\n")
end
for c = 0, K - 1 do
	for i = 1, TOPIC do put(topic_word(c, i), centre[c], 0.3) end
end
for i = 1, FILL do put(fill_word(i), nil, 1.0) end
put("unrelated", nil, 1.0)
f:close()

-- data: lower-cased, classes sorted, the vocabulary from the training split
local train = thaw.data.text{path = dir .. "/train.tsv", header = true}
thaw.check(train.text and #train == 16 and #train.classes == 4 and train.classes[1] == "topic0", "text data: 16 texts, 4 classes")
thaw.check(train.shape[1] == 1 and train.shape[2] == 1 and train.shape[3] == 12, "text data: 12 tokens a text")
local s, y = train:sample(1)
thaw.check(y == 0 and s:match("^[a-z0-9 ]+$") ~= nil, "sample: lower-cased words, class 0: " .. s)
local st = train:text_stats()
thaw.check(st.min == 12 and st.max == 12 and st.cut == 0 and st.unknown == 0, "text_stats")
local test = thaw.data.text{path = dir .. "/test.tsv", header = true, vocab = train}
thaw.check(test.vocab_size == train.vocab_size and test.shape[3] == 12, "test encoded with the training vocabulary")
thaw.check(test:text_stats().unknown > 0, "test: words unseen in training are <unk>")
local small = train:fit_vocab{min_count = 2}
thaw.check(small.vocab_size < train.vocab_size, "fit_vocab: min_count drops rare words")

local vec = thaw.vectors(dir .. "/vectors.txt", train)
thaw.check(vec.dim == DIM and vec.found == vec.words, "vectors: every training word found (" .. vec.coverage .. ")")
local rnd_path = dir .. "/random.txt"
do -- the same words, random vectors
	local g = assert(io.open(rnd_path, "w"))
	for line in io.lines(dir .. "/vectors.txt") do
		local w = line:match("^(%S+)")
		local v = {}
		for d = 1, DIM do v[d] = string.format("%.5f", 2 * math.random() - 1) end
		g:write(w, " ", table.concat(v, " "), "\n")
	end
	g:close()
end
local rnd = thaw.vectors(rnd_path, train)

local function model(v)
	local m = thaw.model{input = train, seed = 3}
	m:add(thaw.nn.embedding{vectors = v, trainable = false, name = "emb"})
	m:add(thaw.nn.pool_time{pool = "mean", name = "pool"})
	m:add(thaw.nn.dense{units = K, name = "head"})
	thaw.fit(m, train, {epochs = 40, batch = 16, lr = 0.1, seed = 5})
	return m, thaw.evaluate(m, test).accuracy
end
local mp, acc_pre = model(vec)
local mr, acc_rnd = model(rnd)
print(string.format("frozen pretrained %.3f, frozen random %.3f", acc_pre, acc_rnd))
thaw.check(acc_pre >= 0.8, string.format("pretrained vectors reach 80%% (%.3f)", acc_pre))
thaw.check(acc_pre >= acc_rnd + 0.15, string.format("pretrained beats random by 15 points (%.3f vs %.3f)", acc_pre, acc_rnd))

-- fine-tuning the table at a lower rate, sparse rows: still fine
mp:unfreeze()
mp:lr_mult("emb", 0.1)
thaw.fit(mp, train, {epochs = 5, batch = 16, lr = 1e-2})
thaw.check(thaw.evaluate(mp, test).accuracy >= acc_pre - 0.1, "fine-tuning keeps the accuracy")

-- save, load, predict a string through the saved vocabulary
mp:save(dir .. "/text.thaw")
local back = assert(thaw.load(dir .. "/text.thaw"))
local r = thaw.evaluate(back, test)
thaw.check(math.abs(r.accuracy - thaw.evaluate(mp, test).accuracy) < 1e-9, "loaded model evaluates the same")
local one = thaw.data.texts{texts = {"T2W1 t2w5, T2W7 fill3"}, labels = {0}, vocab = back}
local cls, conf, name = thaw.predict(back, one, 1)
thaw.check(cls == 2 and name == "topic2" and conf > 0.5, "a raw string classified through the model's vocabulary: " .. tostring(name))

-- a data set with another vocabulary is re-encoded for the model
local other = thaw.data.text{path = dir .. "/test.tsv", header = true}
thaw.check(math.abs(thaw.evaluate(back, other).accuracy - r.accuracy) < 1e-9, "evaluate re-encodes with the model's vocabulary")

-- misuse
local ok, err
ok, err = pcall(function() local m = thaw.model{input = train}; m:add(thaw.nn.embedding{vectors = 3}) end)
thaw.check(not ok and tostring(err):find("thaw.vectors"), "embedding: vectors must come from thaw.vectors")
local nv, msg = thaw.vectors(dir .. "/missing.vec", train)
thaw.check(nv == nil and msg:find("missing.vec"), "vectors: a missing file is nil, message")
local bad = assert(io.open(dir .. "/bad.vec", "w"))
bad:write("2 3\nt0w1 1 2 3\nt0w2 1 2\n")
bad:close()
nv, msg = thaw.vectors(dir .. "/bad.vec", train)
thaw.check(nv == nil and msg:find("bad.vec:3:"), "vectors: a short line names file and line: " .. tostring(msg))
ok, err = pcall(function() return thaw.data.text{path = dir .. "/train.tsv", bogus = 1} end)
thaw.check(not ok and tostring(err):find("bogus"), "thaw.data.text: unknown keys raise")
-- for the shell suite (tests/text/run.sh): the model and the test texts
local out = thaw.run_dir()
if out then
	mp:save(out .. "/text.thaw")
	os.execute(string.format("cp %s/test.tsv %s/test.tsv", dir, out))
end
os.execute("rm -rf " .. dir)
