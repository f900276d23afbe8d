-- thaw.transfer: the transfer recipe from Lua. A 5-class model meets a
-- 3-class data set: the old head goes, a named head comes, the base
-- freezes, and the lines say so; the same classes again change nothing.
local thaw = require "thaw"

local data = thaw.data.synthetic{n = 120, classes = 3, size = {12, 12}, seed = 3}
local m = thaw.reference_cnn{input = {1, 12, 12}, classes = 5}
m:set_classes{"a", "b", "c", "d", "e"}
local n_before = #m

local lines, new = thaw.transfer(m, data)
for _, l in ipairs(lines) do print(l) end
thaw.check(new == true, "a new head")
thaw.check(#lines == 3, "three steps said: " .. #lines)
thaw.check(lines[1]:find("cut after drop1 (old head fc2: 5 classes)", 1, true) ~= nil, lines[1])
thaw.check(lines[2]:find("new head 'head': dense 128->3 for classes " .. table.concat(data.classes, ", "), 1, true) ~= nil, lines[2])
thaw.check(lines[3]:find("froze the " .. (n_before - 1) .. " layers before the head", 1, true) ~= nil, lines[3])
thaw.check(#m == n_before and m:layer(-1).name == "head", "the head replaced fc2")
thaw.check(table.concat(m.classes, ",") == table.concat(data.classes, ","), "the data's class names")
thaw.check(m:layer(-1).trainable and not m:layer(1).trainable, "head trains, base frozen")

-- the same classes: the head stays
local again, new2 = thaw.transfer(m, data)
thaw.check(new2 == false and again[1]:find("keeps its head", 1, true) ~= nil, again[1])

-- a named cut, head name, no freezing (the flags stay as they are)
m:unfreeze()
local l3 = thaw.transfer(m, data, {cut = "pool2", head = "cls", freeze = false})
thaw.check(l3[2]:find("added 'flatten'", 1, true) ~= nil, l3[2])
thaw.check(m:layer(-1).name == "cls" and m:layer(1).trainable, "cut at pool2, head cls, nothing frozen")
thaw.fit(m, data, {epochs = 1, batch = 40})

-- misuse raises with the reason
local ok, err = pcall(thaw.transfer, m, data, {cut = "nope"})
thaw.check(not ok and err:find("no node named 'nope'", 1, true) ~= nil, tostring(err))
ok, err = pcall(thaw.transfer, m, data, {cutt = "pool2"})
thaw.check(not ok and err:find("unknown option 'cutt'", 1, true) ~= nil, tostring(err))
