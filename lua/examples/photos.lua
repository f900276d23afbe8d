-- photos.lua: your own photos on a pretrained ImageNet model, end to end.
--
--   thaw run lua/examples/photos.lua -- PHOTOS MODEL.onnx [IMAGE...]
--
-- PHOTOS holds one folder per class (PHOTOS/cat/*.jpg, PHOTOS/dog/*.png, ...)
-- of PNG or JPEG photos of any size; MODEL.onnx is a torchvision-style
-- ImageNet model (ResNet, MobileNet, ...) exported to ONNX. The script
--   1. imports the model,
--   2. gives it ImageNet's normalisation and centre crop (a named preset),
--   3. cuts its 1000-class head and adds one for the folder's classes,
--   4. trains that head on cached features (the frozen base runs once per
--      photo),
--   5. fine-tunes the whole network at a low learning rate,
--   6. predicts the IMAGEs given (or the held-out photos), and saves the
--      model as .thaw and .onnx in the run folder.
-- Environment knobs: HEAD_EPOCHS (default 10), TUNE_EPOCHS (default 2),
-- BATCH (default 16).
local thaw = require "thaw"

local dir, model_path = arg[1], arg[2]
if not dir or not model_path then
  error("usage: thaw run lua/examples/photos.lua -- PHOTOS MODEL.onnx [IMAGE...]", 0)
end
local function knob(name, default)
  return math.tointeger(tonumber(os.getenv(name) or default)) or default
end
local head_epochs, tune_epochs, batch = knob("HEAD_EPOCHS", 10), knob("TUNE_EPOCHS", 2), knob("BATCH", 16)

-- 1. the pretrained base
local m = assert(thaw.import(model_path))
print(tostring(m))

-- 2. ImageNet preprocessing: its mean and std, and shorter side to the
-- input size then the centre kept (m.resize is now "crop")
m:normalize("imagenet")

-- the photos, decoded straight at the model's size (large JPEGs at reduced
-- scale); stray files are listed in the log, never dropped silently
local c, h, w = m.input[1], m.input[2], m.input[3]
local all = assert(thaw.data.folder(dir, {size = {h, w}, channels = c, resize = m.resize}))
print(tostring(all))
local train, held = all:split(0.2) -- stratified and seeded
print(string.format("train on %d photos, hold out %d", #train, #held))

-- 3. a new head for the folder's classes; the base is frozen
for _, line in ipairs(thaw.transfer(m, train)) do print(line) end

-- 4. the head alone: the frozen base runs once per photo (feature cache)
thaw.fit(m, train, {phase = "head", epochs = head_epochs, batch = batch, optimizer = "adam", lr = 1e-3,
                    schedule = "cosine", val = held})
local head = thaw.evaluate(m, held, {name = "after the head"})

-- 5. fine-tune everything at a low learning rate
m:unfreeze()
thaw.fit(m, train, {phase = "fine-tune", epochs = tune_epochs, batch = batch, optimizer = "adam",
                    lr = 1e-5, val = held})
local tuned = thaw.evaluate(m, held, {name = "after fine-tuning"})
print(string.format("held-out accuracy: head %.1f%%, fine-tuned %.1f%% (%d photos)", 100 * head.accuracy,
                    100 * tuned.accuracy, #held))

-- 6. predictions, then the model in both formats
if #arg > 2 then
  for i = 3, #arg do
    local _, conf, name = thaw.predict(m, arg[i])
    print(string.format("%s: %s (%.0f%%)", arg[i], name, 100 * conf))
  end
else
  local cls, conf = thaw.predict(m, held)
  for i = 1, math.min(#held, 5) do
    print(string.format("held-out photo %d: %s (%.0f%%)", i, m.classes[cls[i] + 1], 100 * conf[i]))
  end
end
local out = thaw.run_dir() or "."
m:save(out .. "/photos.thaw")
m:export(out .. "/photos.onnx")
print("saved " .. out .. "/photos.thaw and " .. out .. "/photos.onnx")
thaw.check(tuned.accuracy >= 1 / #all.classes, "held-out accuracy is at least chance")
