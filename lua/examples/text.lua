-- text.lua: word vectors pretrained without labels, carried into a small
-- labelled task -- Debian package descriptions classified by their section
-- (games, science, sound, ...) with k labelled descriptions per section.
--
--   scripts/make-debian-text                 # data/debian-text (a few minutes)
--   ./thaw run lua/examples/text.lua [-- DIR [KS [SEEDS [TABLE]]]]
--
-- DIR: what scripts/make-debian-text wrote (default data/debian-text);
-- KS: labelled descriptions per section, comma-separated (default
-- 10,50,200); SEEDS: how many k-shot draws to average (default 3); TABLE:
-- where the table goes (default text-table.txt in the run folder).
--
-- Every method reads the description's words, mean-pools their vectors over
-- the text (padding left out) and classifies the mean with one dense layer:
--   scratch     embeddings from random, trained with the classifier; the
--               vocabulary is the k-shot set's words (others are <unk>)
--   frozen      fastText vectors from the corpus (the source task: no
--               labels), frozen; only the new classifier trains
--   fine-tune   then the vectors unfrozen at a 10x lower rate (lr_mult 0.1)
--               while the classifier goes on
-- The frozen and fine-tuned models know the words of all training
-- descriptions (not their labels) that the vectors cover: a word the k-shot
-- set never showed still has a pretrained vector. Evaluated on the whole
-- test split of the same sections (other source packages than training).
local thaw = require "thaw"
local tbl = require "thaw.table"

local dir = arg[1] or "data/debian-text"
local ks, ks_arg = {}, arg[2] or "10,50,200"
for k in ks_arg:gmatch("[^,]+") do
  local n = math.tointeger(tonumber(k))
  assert(n and n >= 1, "KS: positive whole numbers separated by commas, got " .. ks_arg)
  ks[#ks + 1] = n
end
assert(#ks > 0, "KS: no k given")
local n_seeds = math.tointeger(tonumber(arg[3] or 3))
assert(n_seeds and n_seeds >= 1, "SEEDS: a positive whole number")
local table_path = arg[4] or ((thaw.run_dir() or ".") .. "/text-table.txt")
local kmax = math.max(table.unpack(ks))
local LENGTH = 128 -- tokens a description (the median is about 60, the 95th percentile about 160)

local function need(path)
  local f = io.open(path)
  if not f then
    error(path .. " is missing: run scripts/make-debian-text first (see docs/text-debian.md)", 0)
  end
  f:close()
  return path
end

-- All training descriptions: their words make the pretrained models'
-- vocabulary; their labels are used only through the k-shot draws below.
local all = thaw.data.text{path = need(dir .. "/train.tsv"), length = LENGTH}
-- Sections with at least kmax training descriptions, so that every k is k.
local keep, names = {}, {}
for i, n in ipairs(all:counts()) do
  if n >= kmax then
    keep[#keep + 1] = i - 1
    names[#names + 1] = all.classes[i]
  end
end
assert(#keep >= 2, "fewer than two sections have " .. kmax .. " training descriptions")
local pool = all:select(keep)
local test = thaw.data.text{path = need(dir .. "/test.tsv"), length = LENGTH, vocab = pool}:select(keep)
for i, name in ipairs(test.classes) do
  assert(name == names[i], "test.tsv and train.tsv have different sections")
end
local K = #names
print(string.format("%d sections with >= %d training descriptions: %s", K, kmax, table.concat(names, ", ")))
print(string.format("%d training descriptions to draw from, %d test descriptions, vocabulary %d words",
                    #pool, #test, pool.vocab_size))

local vec = assert(thaw.vectors(need(dir .. "/vectors.vec"), pool))
print("pretrained vectors: " .. vec.coverage .. ", dimension " .. vec.dim)

-- Adam on mean-pooled vectors; about the same number of steps whatever k
-- is (small sets get more epochs), batch 32.
-- The seed makes each cell of the table the same whichever others run.
local function opts(n, phase, steps, lr, seed)
  local batch = math.min(32, n)
  local batches = (n + batch - 1) // batch
  return {phase = phase, epochs = math.max(5, (steps + batches - 1) // batches), batch = batch,
          optimizer = "adam", lr = lr, seed = seed, checkpoint = false}
end

local function classifier(m)
  m:add(thaw.nn.pool_time{pool = "mean", name = "pool"})
  m:add(thaw.nn.dense{units = K, name = "head", init = "glorot"})
  m:set_classes(names)
  return m
end

local acc = {} -- acc[method][k] = list over seeds
local function record(method, k, seed, m)
  local r = thaw.evaluate(m, test, {name = string.format("%s-k%d-s%d", method, k, seed)})
  acc[method] = acc[method] or {}
  acc[method][k] = acc[method][k] or {}
  table.insert(acc[method][k], r.accuracy)
  return r.accuracy
end

for _, k in ipairs(ks) do
  for seed = 1, n_seeds do
    local shot = pool:per_class(k, seed) -- the same k-shot set for the three methods

    -- scratch: the k-shot set's own vocabulary, embeddings from random
    local own = shot:fit_vocab{min_count = 1}
    local ms <close> = thaw.model{input = own, seed = seed}
    ms:add(thaw.nn.embedding{vocab = own, dim = vec.dim, name = "emb"})
    classifier(ms)
    thaw.fit(ms, own, opts(#own, "scratch", 600, 1e-2, seed))
    local a_s = record("scratch", k, seed, ms)

    -- frozen pretrained vectors + a new classifier
    local mp <close> = thaw.model{input = pool, seed = seed}
    mp:add(thaw.nn.embedding{vectors = vec, trainable = false, name = "emb"})
    classifier(mp)
    thaw.fit(mp, shot, opts(#shot, "frozen", 600, 1e-2, seed))
    local a_f = record("frozen", k, seed, mp)

    -- then fine-tuned: the classifier goes on at its rate, the vectors
    -- learn at a tenth of it
    mp:unfreeze()
    mp:lr_mult("emb", 0.1)
    thaw.fit(mp, shot, opts(#shot, "fine-tune", 300, 1e-2, seed))
    local a_t = record("fine-tune", k, seed, mp)
    print(string.format("k = %3d seed %d: scratch %5.1f%%  frozen %5.1f%%  fine-tune %5.1f%%", k, seed,
                        100 * a_s, 100 * a_f, 100 * a_t))
  end
end

local function mean_sd(xs)
  local s, s2 = 0, 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / #xs
  for _, x in ipairs(xs) do s2 = s2 + (x - m) ^ 2 end
  return m, #xs > 1 and math.sqrt(s2 / (#xs - 1)) or 0
end

local head = {"method"}
for _, k in ipairs(ks) do head[#head + 1] = "k = " .. k end
local results = tbl.new(head)
local means = {}
for _, method in ipairs{"scratch", "frozen", "fine-tune"} do
  local row = {method}
  means[method] = {}
  for _, k in ipairs(ks) do
    local m, sd = mean_sd(acc[method][k])
    means[method][k] = m
    row[#row + 1] = n_seeds > 1 and string.format("%.1f ± %.1f %%", 100 * m, 100 * sd) or tbl.pct(m)
  end
  results:row(row)
end
local title = string.format("Debian package descriptions, %d sections, k labelled descriptions per section, " ..
                            "test accuracy on %d descriptions (mean ± sd over %d draws); chance %.1f %%",
                            K, #test, n_seeds, 100 / K)
print("\n" .. title .. "\n")
print(results)
results:write(table_path, title)
print("table written to " .. table_path)

-- what the example claims: at the smallest k, frozen pretrained vectors
-- clearly beat embeddings learnt from scratch
local k0 = math.min(table.unpack(ks))
thaw.check(means["frozen"][k0] >= means["scratch"][k0] + 0.05,
           string.format("k = %d: frozen pretrained vectors beat scratch by 5 points (%.1f%% vs %.1f%%)", k0,
                         100 * means["frozen"][k0], 100 * means["scratch"][k0]))
