-- explore.lua: does the cut-point explorer choose well? Fashion-MNIST
-- classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) with k labelled
-- images per class, from the base trained on classes 0-4.
--
--   ./thaw run lua/examples/explore.lua [-- K [DRAWS [BASE]]]
--
-- For each draw (a seeded pick of k images per class) thaw.explore chooses
-- a cut by k-fold cross-validation on those images alone. Then, only to
-- judge the choice, every candidate cut is trained the way the transfer
-- recipe does it (thaw.transfer: cut, new head, base frozen; the head
-- trained on the same images) and measured on all 5,000 test images. The
-- choice is good when its test accuracy is within one point of the best
-- cut's on the test set. Also on the test set, for reference: the scratch
-- baseline (thaw.scratch_model, trained on the same images) and
-- thaw.fine_tune started from the chosen cut.
local thaw = require "thaw"
local tbl = require "thaw.table"

local k = math.tointeger(tonumber(arg[1] or 10))
assert(k and k >= 2, "K (images per class) must be an integer >= 2")
local draws = math.tointeger(tonumber(arg[2] or 3))
local base_path = arg[3] or thaw.asset("fashion-base.thaw")
local classes = {5, 6, 7, 8, 9}
local test = thaw.data.fashion_mnist{split = "test", classes = classes}

local results = tbl.new{"draw", "cut", "CV acc (+- sd)", "test acc", "explore s", ""}
local within, chosen_sum, best_sum, ft_sum, scratch_cv = 0, 0, 0, 0, {}
for draw = 1, draws do
  local train = thaw.data.fashion_mnist{split = "train", classes = classes, per_class = k, seed = draw}
  local base <close> = assert(thaw.load(base_path))
  local r = thaw.explore(base, train, {seed = draw, folds = math.min(5, k)})
  local test_acc, best_test = {}, nil
  for _, c in ipairs(r.cuts) do
    local m <close> = assert(thaw.load(base_path))
    thaw.transfer(m, train, {cut = c.name})
    local batch = math.min(32, #train)
    local batches = (#train + batch - 1) // batch
    thaw.fit(m, train, {phase = c.name .. "-head", epochs = math.max(5, (300 + batches - 1) // batches),
                        batch = batch, optimizer = "adam", lr = 3e-3, schedule = "cosine", checkpoint = false})
    test_acc[c.name] = thaw.evaluate(m, test).accuracy
    if not best_test or test_acc[c.name] > test_acc[best_test] then best_test = c.name end
  end
  for _, c in ipairs(r.cuts) do
    local mark = (c.name == r.best.name and "chosen" or "") .. (c.name == best_test and " test-best" or "")
    results:row{draw, c.name, string.format("%.1f %% +- %.1f", 100 * c.accuracy, 100 * c.sd),
                tbl.pct(test_acc[c.name]), string.format("%.1f", c.seconds), mark}
  end
  -- the scratch baseline the explorer measured, trained once more on all
  -- the images with the same budget and measured on the test set
  local sm <close> = thaw.scratch_model(base, train, draw)
  local sbatch = math.min(32, #train)
  local sbatches = (#train + sbatch - 1) // sbatch
  thaw.fit(sm, train, {phase = "scratch", epochs = (400 + sbatches - 1) // sbatches, batch = sbatch,
                       optimizer = "adam", lr = 1e-3, schedule = "cosine", shift = 2, flip = true,
                       checkpoint = false})
  local scratch_test = thaw.evaluate(sm, test).accuracy
  results:row{draw, "scratch", string.format("%.1f %% +- %.1f", 100 * r.scratch.accuracy, 100 * r.scratch.sd),
              tbl.pct(scratch_test), string.format("%.1f", r.scratch.seconds),
              r.scratch_wins and "scratch wins" or ""}
  scratch_cv[#scratch_cv + 1] = r.scratch.accuracy
  -- fine_tune starts from the chosen cut
  local ft <close> = assert(thaw.load(base_path))
  thaw.fine_tune(ft, train, {cut = r.best.name, seed = draw})
  local ft_test = thaw.evaluate(ft, test).accuracy
  results:row{draw, "fine_tune from " .. r.best.name, "", tbl.pct(ft_test), "", ""}
  ft_sum = ft_sum + ft_test
  results:rule()
  local gap = 100 * (test_acc[best_test] - test_acc[r.best.name])
  print(string.format("draw %d: chose %s (test %.1f %%), test-best %s (%.1f %%): %.1f points apart", draw,
                      r.best.name, 100 * test_acc[r.best.name], best_test, 100 * test_acc[best_test], gap))
  if gap <= 1 then within = within + 1 end
  chosen_sum, best_sum = chosen_sum + test_acc[r.best.name], best_sum + test_acc[best_test]
end

local title = string.format("cut explorer, Fashion-MNIST classes 5-9, k = %d per class, %d draws; " ..
                            "test accuracy on %d images", k, draws, #test)
print("\n" .. title .. "\n")
print(results)
print(string.format("\nthe chosen cut is within one point of the test-best cut in %d of %d draws; " ..
                    "mean test accuracy %.1f %% chosen, %.1f %% test-best (new head on the frozen base); " ..
                    "%.1f %% fine_tune from the chosen cut", within, draws,
                    100 * chosen_sum / draws, 100 * best_sum / draws, 100 * ft_sum / draws))
results:write((thaw.run_dir() or ".") .. "/explore-table.txt", title)
thaw.check(within >= 1, "the explorer's choice is within one point of the test-best cut in some draw")
