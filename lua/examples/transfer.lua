-- transfer.lua: the whole transfer recipe on Fashion-MNIST classes 5-9
-- (Sandal, Shirt, Sneaker, Bag, Ankle boot) with k labelled images per class,
-- starting from the base trained on classes 0-4 (lua/examples/pretrain.lua).
--
--   ./thaw run lua/examples/transfer.lua [-- K [TABLE [BASE]]]
--
-- K: labelled training images per class (default 20). TABLE: where the
-- result table goes (default transfer-table.txt in the run folder). BASE:
-- the base model (default: the shipped one, thaw.asset("fashion-base.thaw")).
--
-- Methods, each evaluated on the full test split of classes 5-9 (5000 images):
--   scratch         the reference CNN from random weights, trained on the k-shot set
--   <cut> head      the base cut after <cut>, everything below frozen, a new head trained
--   <cut> fine-tune then every layer thawed (batch norms stay frozen) at a 10x lower rate
-- with cuts after fc1 (the old output layer popped: the classic recipe),
-- after conv block 2 (pool2) and after conv block 1 (pool1); conv cuts get a
-- flatten + dense head.
local thaw = require "thaw"
local tbl = require "thaw.table"

local k = math.tointeger(tonumber(arg[1] or 20))
assert(k and k >= 1, "K (images per class) must be a positive integer")
local table_path = arg[2] or ((thaw.run_dir() or ".") .. "/transfer-table.txt")
local base_path = arg[3] or thaw.asset("fashion-base.thaw")
local classes = {5, 6, 7, 8, 9}
local data_seed = 7 -- which k images per class: fixed, so every method sees the same set

local train = thaw.data.fashion_mnist{split = "train", classes = classes, per_class = k, seed = data_seed}
local test = thaw.data.fashion_mnist{split = "test", classes = classes}
print(string.format("k = %d: %d training images, %d test images (%s)", k, #train, #test,
                    table.concat(train.classes, ", ")))

local base = assert(thaw.load(base_path))
print(string.format("base %s: %s", base_path, tostring(base)))

-- Roughly the same number of optimizer steps whatever k is: small sets get
-- more epochs, large sets fewer.
local batch = math.min(32, #train)
local batches = (#train + batch - 1) // batch
local function epochs_for(steps, lo) return math.max(lo or 5, (steps + batches - 1) // batches) end

-- checkpoint = false: with k = 5 an epoch is one batch, and a checkpoint
-- file per epoch would cost more than the training
local common = {batch = batch, optimizer = "adam", schedule = "cosine", shift = 2, flip = true,
                checkpoint = false}
local function opts(extra)
  local o = {}
  for key, v in pairs(common) do o[key] = v end
  for key, v in pairs(extra) do o[key] = v end
  return o
end

local results = tbl.new{"method", "trainable", "epochs", "test acc", "train s"}
local acc = {}

local function record(name, m, hist, secs)
  local r = thaw.evaluate(m, test, {name = name})
  local _, info = m:summary()
  acc[name] = r.accuracy
  results:row{name, info.trainable, hist.epochs, tbl.pct(r.accuracy), string.format("%.1f", secs)}
  print(string.format("%-20s test accuracy %s", name, tbl.pct(r.accuracy, 2)))
  return r
end

-- (a) from scratch
do
  local m = thaw.reference_cnn{classes = #classes}
  m:set_classes(train.classes)
  local h = thaw.fit(m, train, opts{phase = "scratch", epochs = epochs_for(400), lr = 1e-3})
  record("scratch", m, h, tbl.fit_seconds(h))
  m:close()
end
results:rule()

-- (b) + (c) at each cut: frozen base and a new head, then fine-tuning
local cuts = {
  {name = "fc1", cut = function(m) m:pop() end},        -- drop fc2; keeps fc1, relu3, drop1
  {name = "pool2", cut = function(m) m:truncate("pool2"); m:add(thaw.nn.flatten{name = "head_flat"}) end},
  {name = "pool1", cut = function(m) m:truncate("pool1"); m:add(thaw.nn.flatten{name = "head_flat"}) end},
}
for _, c in ipairs(cuts) do
  local m <close> = assert(thaw.load(base_path))
  c.cut(m)
  m:freeze() -- everything so far, including what the cut added (no weights)
  m:add(thaw.nn.dense{units = #classes, name = "head", init = "glorot"})
  m:set_classes(train.classes)
  local _, info = m:summary()
  print(string.format("cut after %s: %d nodes, %d trainable, %d frozen parameters", c.name, #m,
                      info.trainable, info.frozen))
  local h1 = thaw.fit(m, train, opts{phase = c.name .. "-head", epochs = epochs_for(300), lr = 3e-3})
  local t1 = tbl.fit_seconds(h1)
  record(c.name .. " head", m, h1, t1)

  m:unfreeze()
  m:freeze("bn*") -- thawed batch norms would re-estimate their statistics from k-shot batches
  local h2 = thaw.fit(m, train, opts{phase = c.name .. "-finetune", epochs = epochs_for(200), lr = 3e-4})
  record(c.name .. " fine-tune", m, h2, t1 + tbl.fit_seconds(h2))
end

local title = string.format("Fashion-MNIST classes 5-9, k = %d labelled images per class (%d), " ..
                            "test accuracy on %d images; base %s", k, #train, #test, base_path)
print("\n" .. title .. "\n")
print(results)
print("\n'train s' is wall time in training steps (a fine-tune row includes its head phase).")
results:write(table_path, title)
print("table written to " .. table_path)

-- sanity floors: chance is 20%
thaw.check(acc["fc1 head"] >= 0.5, string.format("frozen base + head beats chance clearly (%.1f%%)",
                                                   100 * acc["fc1 head"]))
thaw.check(acc["scratch"] >= 0.4, string.format("scratch training learns something (%.1f%%)", 100 * acc["scratch"]))
