-- quick.lua: transfer in seconds. The shipped base model (Fashion-MNIST
-- classes 0-4) gets a new head for classes 5-9, trained on k labelled
-- images per class with the base frozen, then judged on 100 test images
-- per class. Runs from any directory, installed or in the build tree.
--
--   thaw run lua/examples/quick.lua [-- K [EPOCHS]]
--
-- K: labelled training images per class (default 10); EPOCHS (default 8).
local thaw = require "thaw"
local tbl = require "thaw.table"

local k = math.tointeger(tonumber(arg[1] or 10))
assert(k and k >= 1, "K (images per class) must be a positive integer")
local epochs = math.tointeger(tonumber(arg[2] or 8))
local classes = {5, 6, 7, 8, 9}

local train = thaw.data.fashion_mnist{split = "train", classes = classes, per_class = k, seed = 7}
local test = thaw.data.fashion_mnist{split = "test", classes = classes, per_class = 100, seed = 7}

local base_path = thaw.asset("fashion-base.thaw")
local m = assert(thaw.load(base_path))
print("base " .. base_path)
m:pop() -- the old 5-way output layer
m:add(thaw.nn.dense{units = #classes, name = "head", init = "glorot"})
m:set_classes(train.classes)
m:freeze{upto = "drop1"} -- everything but the head

local hist = thaw.fit(m, train, {phase = "head", epochs = epochs, batch = 16, optimizer = "adam", lr = 1e-2})
local r = thaw.evaluate(m, test, {name = "test"})

local t = tbl.new{"class", "test acc"}
for i, name in ipairs(test.classes) do
  t:row{name, tbl.pct(r.per_class[i])}
end
t:rule()
t:row{"all", tbl.pct(r.accuracy)}
print(t)
print(string.format("%d images per class, %d epochs, %.2f s", k, #hist, tbl.fit_seconds(hist)))
thaw.check(r.accuracy > 0.4, string.format("the frozen base transfers: %.1f%% on 5 classes", 100 * r.accuracy))
