-- folder.lua: transfer onto a folder of PNGs (one subfolder per class) from
-- an imported ONNX model. The images are resized and converted (RGB <-> gray)
-- to the model's input automatically; the log says what changed.
--
--   thaw run lua/examples/folder.lua -- FOLDER [MODEL.onnx [EPOCHS]]
--
-- Without MODEL (or with "-") the shipped 28x28 gray base model,
-- thaw.asset("fashion-base.thaw"), is exported to ONNX in the run folder
-- and imported from there. A self-contained demo: 500 Fashion-MNIST images
-- of classes 5-9 written as 32x32 RGB PNGs:
--   scripts/make-png-folder /tmp/fashion-png
--   thaw run lua/examples/folder.lua -- /tmp/fashion-png
local thaw = require "thaw"

local folder, model_path = arg[1], arg[2]
if not folder then
  error("usage: thaw run lua/examples/folder.lua -- FOLDER [MODEL.onnx [EPOCHS]]", 0)
end
if not model_path or model_path == "-" then
  model_path = (thaw.run_dir() or ".") .. "/base.onnx"
  local base = assert(thaw.load(thaw.asset("fashion-base.thaw")))
  base:export(model_path)
  base:close()
  print("exported the shipped base model to " .. model_path)
end
local epochs = math.tointeger(tonumber(arg[3] or 30))

-- the native size: thaw.fit converts to the model's input (the {} works
-- around a binding bug: without an options table the call fails)
local all = assert(thaw.data.folder(folder, {}))
print(tostring(all))
print("classes: " .. table.concat(all.classes, ", "))
local counts = all:counts()
for i, name in ipairs(all.classes) do
  print(string.format("  %-12s %d images", name, counts[i]))
end

-- a stratified, seeded hold-out: 70% to train the head, 30% to judge it
local train, held = all:split(0.3)
print(string.format("train %d images, held out %d", #train, #held))

local m = assert(thaw.import(model_path))
print(tostring(m))
local old = m:pop() -- the old output layer
print("popped the old output layer '" .. old .. "'")
m:freeze() -- the whole imported base
m:add(thaw.nn.dense{units = #all.classes, name = "head", init = "glorot"})
m:set_classes(all.classes)
print((m:summary()))

-- thaw.fit resizes and converts both sets to the model's input (logged)
local hist = thaw.fit(m, train, {
  phase = "head",
  epochs = epochs,
  batch = 32,
  optimizer = "adam",
  lr = 3e-3,
  schedule = "cosine",
  val = held,
})
local last = hist[#hist]
print(string.format("head: %d epochs, train accuracy %.1f%%, held-out %.1f%%", #hist,
                    100 * last.accuracy, 100 * last.val_accuracy))

local r = thaw.evaluate(m, held, {name = "held-out"})
for k, name in ipairs(all.classes) do
  print(string.format("  %-12s %.1f%%", name, 100 * r.per_class[k]))
end
local chance = 1 / #all.classes
thaw.check(r.accuracy >= math.min(0.95, 2 * chance),
           string.format("held-out accuracy %.1f%% is well above chance (%.1f%%)", 100 * r.accuracy,
                         100 * chance))
