-- fine_tune.lua: transfer without tuning. thaw.fine_tune with its defaults
-- on Fashion-MNIST classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot),
-- k labelled images per class, from the base trained on classes 0-4; the
-- mean of 3 draws of the k images, each evaluated on all 5,000 test images.
--
--   ./thaw run lua/examples/fine_tune.lua [-- KS [DRAWS [TABLE]]]
--
-- KS: the k values, comma-separated (default 5,10,20,50). DRAWS: draws per
-- k (default 3). TABLE: where the table goes (default fine-tune-table.txt
-- in the run folder).
--
-- Columns: fine_tune at its default cut (the end of the base's body,
-- pool2); the cut-point explorer's choice (thaw.explore) made on the k labelled
-- images alone, fine_tune started from it, and the same architecture
-- trained from scratch on the same images.
local thaw = require "thaw"
local tbl = require "thaw.table"

local ks = {}
for v in (arg[1] or "5,10,20,50"):gmatch("[^,]+") do ks[#ks + 1] = assert(math.tointeger(tonumber(v)), "KS: integers") end
local draws = math.tointeger(tonumber(arg[2] or 3))
assert(draws and draws >= 1, "DRAWS must be a positive integer")
local table_path = arg[3] or ((thaw.run_dir() or ".") .. "/fine-tune-table.txt")
local classes = {5, 6, 7, 8, 9}
local base_path = thaw.asset("fashion-base.thaw")
local test = thaw.data.fashion_mnist{split = "test", classes = classes}

-- The explorer's choice (thaw.explore: cross-validated on the k labelled
-- images only; `best.name` is the chosen cut).
local function explorer_choice(train)
  local m <close> = assert(thaw.load(base_path))
  local ok, ex = pcall(thaw.explore, m, train, {scratch = false})
  if not ok or type(ex) ~= "table" or not ex.best then
    print("explore: " .. tostring(ex))
    return nil
  end
  return type(ex.best) == "table" and ex.best.name or ex.best
end

-- The scratch baseline (thaw.scratch_model: the base's architecture, fresh
-- weights), trained on the same images with explore.lua's budget: 400
-- Adam steps, cosine, shifts and flips.
local function scratch(train, draw)
  local sm <close> = thaw.scratch_model(assert(thaw.load(base_path)), train, draw)
  local batch = math.min(32, #train)
  local batches = (#train + batch - 1) // batch
  thaw.fit(sm, train, {phase = "scratch", epochs = (400 + batches - 1) // batches, batch = batch,
                       optimizer = "adam", lr = 1e-3, schedule = "cosine", shift = 2, flip = true,
                       checkpoint = false})
  return thaw.evaluate(sm, test).accuracy
end

local results = tbl.new{"k per class", "fine_tune (default cut)", "explorer's cut", "fine_tune at it", "scratch",
                        "seconds"}
local means = {}
for _, k in ipairs(ks) do
  local acc_ft, acc_ex, acc_sc, cuts = {}, {}, {}, {}
  local t0 = thaw.clock()
  for draw = 1, draws do
    local train = thaw.data.fashion_mnist{split = "train", classes = classes, per_class = k, seed = draw}
    -- fine_tune with every default: the cut, the steps, the rates
    do
      local m <close> = assert(thaw.load(base_path))
      thaw.fine_tune(m, train, {phase = string.format("k%d-d%d-", k, draw), seed = draw, checkpoint = false})
      acc_ft[#acc_ft + 1] = thaw.evaluate(m, test, {name = string.format("k%d-draw%d", k, draw)}).accuracy
    end
    local cut = explorer_choice(train)
    if cut then
      cuts[#cuts + 1] = cut
      local m <close> = assert(thaw.load(base_path))
      thaw.fine_tune(m, train, {cut = cut, phase = string.format("k%d-d%d-ex-", k, draw), seed = draw,
                                checkpoint = false})
      acc_ex[#acc_ex + 1] = thaw.evaluate(m, test).accuracy
    end
    acc_sc[#acc_sc + 1] = scratch(train, draw)
  end
  local function mean(t)
    if #t == 0 then return nil end
    local s = 0
    for _, a in ipairs(t) do s = s + a end
    return s / #t
  end
  local function cell(t)
    local m = mean(t)
    if not m then return "—" end
    local parts = {}
    for _, a in ipairs(t) do parts[#parts + 1] = string.format("%.1f", 100 * a) end
    return string.format("%.1f %% (%s)", 100 * m, table.concat(parts, ", "))
  end
  means[k] = mean(acc_ft)
  results:row{k, cell(acc_ft), #cuts > 0 and table.concat(cuts, ",") or "—", cell(acc_ex), cell(acc_sc),
              string.format("%.0f", thaw.clock() - t0)}
  print(string.format("k = %d: fine_tune %s", k, cell(acc_ft)))
end

local title = string.format("Fashion-MNIST classes 5-9 from the shipped base, thaw.fine_tune defaults; test " ..
                            "accuracy on %d images, mean of %d draws (each draw's in brackets)", #test, draws)
print("\n" .. title .. "\n")
print(results)
results:write(table_path, title)
print("table written to " .. table_path)

-- the issue's targets, where measured
if means[10] then thaw.check(means[10] >= 0.88, string.format("k = 10: %.1f %% >= 88 %%", 100 * means[10])) end
if means[20] then thaw.check(means[20] >= 0.92, string.format("k = 20: %.1f %% >= 92 %%", 100 * means[20])) end
