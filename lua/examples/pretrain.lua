-- pretrain.lua: trains thaw's reference CNN on Fashion-MNIST classes 0-4
-- (T-shirt/top, Trouser, Pullover, Dress, Coat) and saves the base model
-- that the transfer examples start from.
--
--   ./thaw run lua/examples/pretrain.lua [-- OUT.thaw [EPOCHS]]
--
-- OUT defaults to fashion-base.thaw in the run folder (the shipped copy,
-- thaw.asset("fashion-base.thaw"), is never overwritten). Same seed (--seed,
-- default 1) and same thread count (OPENBLAS_NUM_THREADS) give the same
-- file, byte for byte: scripts/make-assets rebuilds the committed asset
-- this way.
local thaw = require "thaw"

local out = arg[1] or ((thaw.run_dir() or ".") .. "/fashion-base.thaw")
local epochs = tonumber(arg[2] or 6)
local classes = {0, 1, 2, 3, 4}

local train = thaw.data.fashion_mnist{split = "train", classes = classes}
local test = thaw.data.fashion_mnist{split = "test", classes = classes}
print(string.format("train: %d images, test: %d images, classes: %s", #train, #test,
                    table.concat(train.classes, ", ")))

local m = thaw.reference_cnn{classes = #classes}
m:set_classes(train.classes)
print((m:summary()))

local hist = thaw.fit(m, train, {
  phase = "pretrain",
  epochs = epochs,
  batch = 64,
  optimizer = "adamw",
  lr = 2e-3,
  weight_decay = 1e-4,
  schedule = "cosine",
  warmup = 100,
  min_lr = 1e-5,
  shift = 2, -- random shifts of up to 2 pixels
  flip = true, -- clothes look the same mirrored
  val = test,
})

local r = thaw.evaluate(m, test, {name = "test-0to4"})
local secs = 0
for _, e in ipairs(hist) do secs = secs + e.seconds end
print(string.format("test accuracy on classes 0-4: %.2f%% after %d epochs (%.0f s of training)",
                    100 * r.accuracy, #hist, secs))
for k, name in ipairs(m.classes) do
  print(string.format("  %-12s %.2f%%", name, 100 * r.per_class[k]))
end

-- Save the model without the Adam moments: a base to share is a third of
-- the size, and the next thaw.fit starts its optimizer state afresh anyway.
m:save(out, {optimizer = false})
print("saved " .. out)

-- the saved file must load and give the same accuracy
local back = assert(thaw.load(out))
local r2 = thaw.evaluate(back, test, {name = "reloaded"})
thaw.check(math.abs(r2.accuracy - r.accuracy) < 1e-9, "the saved base gives the same test accuracy")
thaw.check(r.accuracy >= 0.90, string.format("base test accuracy %.2f%% >= 90%%", 100 * r.accuracy))
