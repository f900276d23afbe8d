-- Data sources and their options: synthetic, a PNG class folder (written
-- by pngfolder.lua), Fashion-MNIST (unless arg[1] == "nofashion"), the
-- thaw.data.open SPECs, and the data methods and fields.
local thaw = require "thaw"
local here = arg[0]:match("(.*/)") or "./"
local pngs = dofile(here .. "pngfolder.lua")
local dir = os.tmpname()
os.remove(dir)
pngs.write(dir)

local function shape(d) return table.concat(d.shape, "x") end
local function try(what, f, ...)
	local ok, a, b = pcall(f, ...)
	thaw.check(ok and a ~= nil, what .. ": " .. tostring(ok and b or a))
	return ok and a or nil
end

-- synthetic
local s = thaw.data.synthetic{n = 40, classes = 4, size = {12, 16}, channels = 3, seed = 3, noise = 0.2}
thaw.check(#s == 40 and s.n == 40 and shape(s) == "3x12x16" and #s.classes == 4, "synthetic: n, shape, classes")
thaw.check(table.concat(s:counts(), ",") == "10,10,10,10", "synthetic: balanced classes")
local s2 = thaw.data.synthetic{n = 40, classes = 4, size = {12, 16}, channels = 3, seed = 3, noise = 0.2}
local m = thaw.reference_cnn{input = {3, 12, 16}, classes = 4}
thaw.check(thaw.evaluate(m, s).loss == thaw.evaluate(m, s2).loss, "synthetic: the same seed gives the same images")

-- a class folder with options
local f = try("folder{path=, size=}", thaw.data.folder, {path = dir, size = {12, 12}})
if f then
	thaw.check(#f == 18 and shape(f) == "1x12x12", "folder: 18 gray images at 12x12 (" .. shape(f) .. ")")
	thaw.check(table.concat(f.classes, ",") == "hbar,square,vbar", "folder: class names from the folder names")
	thaw.check(table.concat(f:counts(), ",") == "6,6,6", "folder: 6 images per class")
end
local f2 = try("folder(path, {classes=})", thaw.data.folder, dir, {classes = {0, 2}})
if f2 then
	thaw.check(#f2 == 12 and table.concat(f2.classes, ",") == "hbar,vbar", "folder: classes {0, 2} keeps hbar, vbar")
	thaw.check(shape(f2) == "1x16x16", "folder: the first image's size without size= (" .. shape(f2) .. ")")
end
-- the options table is optional
local f3 = try("folder(path) without options", thaw.data.folder, dir)
if f3 then thaw.check(#f3 == 18, "folder(path): 18 images") end
local o = try("open(dir) without options", thaw.data.open, dir)
if o then thaw.check(#o == 18, "open(dir): 18 images") end
local o2 = try("open('synth:50') without options", thaw.data.open, "synth:50")
if o2 then thaw.check(#o2 == 50, "open('synth:50'): 50 images") end
local o3 = try("open('synth:50', {per_class=})", thaw.data.open, "synth:50", {per_class = 2})
if o3 then thaw.check(#o3 == 20, "open('synth:50', {per_class = 2}): 2 of each of 10 classes") end

-- shaping and the data methods
local train, val = f:split(1 / 3)
thaw.check(#train == 12 and #val == 6, "split(1/3): stratified 12 + 6")
local joined = train:join(val)
thaw.check(#joined == 18 and #joined.classes == 3, "join: 18 images, 3 classes")
local sq = f:select{1}
thaw.check(#sq == 6 and sq.classes[1] == "square", "select{1}: the square class, relabelled")
local few = f:per_class(2, 5)
thaw.check(table.concat(few:counts(), ",") == "2,2,2", "per_class(2)")
local big = thaw.reference_cnn{input = {3, 24, 24}, classes = 3}
local conv, desc = f:to_model(big)
thaw.check(shape(conv) == "3x24x24" and type(desc) == "string", "to_model: 3x24x24 (" .. tostring(desc) .. ")")
local fit = thaw.fit(big, f, {epochs = 1, batch = 6}) -- converted on the fly
thaw.check(fit.epochs == 1, "fit converts the data to the model's input")
local grid = dir .. "/grid.png"
f:grid(grid, 4)
local g = io.open(grid, "rb")
thaw.check(g ~= nil and g:read(8) == "\x89PNG\r\n\x1a\n", "grid writes a PNG")
if g then g:close() end
thaw.check(tostring(f):find("18 images of 1x12x12, 3 classes", 1, true) ~= nil, "tostring(data): " .. tostring(f))
thaw.check(f.source ~= nil and f.nosuchfield == nil, "data.source; unknown fields are nil")

-- nothing skipped silently: a stray file and a corrupt image
local function put(path, bytes) local h = assert(io.open(path, "wb")); h:write(bytes); h:close() end
put(dir .. "/hbar/notes.txt", "bought in May\n")
put(dir .. "/vbar/broken.png", "\x89PNG\r\n\x1a\n")
local none, why = thaw.data.folder{path = dir}
thaw.check(none == nil and tostring(why):find("vbar/broken.png", 1, true) ~= nil,
	"folder: a corrupt image fails the load, named (" .. tostring(why) .. ")")
local sk = try("folder{skip_bad=, resize=}", thaw.data.folder,
	{path = dir, size = {12, 20}, resize = "pad", skip_bad = true})
if sk then thaw.check(#sk == 18 and shape(sk) == "1x12x20", "folder: skip_bad keeps the 18 good images, padded") end
local ok_rs, rs_err = pcall(thaw.data.folder, {path = dir, resize = "squash"})
thaw.check(not ok_rs and tostring(rs_err):find("expected stretch, crop or pad", 1, true) ~= nil,
	"folder: a bad resize= is refused (" .. tostring(rs_err) .. ")")
os.remove(dir .. "/hbar/notes.txt")
os.remove(dir .. "/vbar/broken.png")

-- Fashion-MNIST
if arg[1] ~= "nofashion" then
	local fm = try("fashion_mnist{}", thaw.data.fashion_mnist,
		{split = "test", classes = {5, 6, 7}, per_class = 4, seed = 2})
	if fm then
		thaw.check(#fm == 12 and shape(fm) == "1x28x28", "fashion_mnist test classes 5-7, 4 each")
		thaw.check(table.concat(fm.classes, ",") == "Sandal,Shirt,Sneaker", "fashion_mnist class names")
	end
	local all = try("fashion_mnist() without options", thaw.data.fashion_mnist)
	if all then thaw.check(#all == 60000, "fashion_mnist(): the 60000 training images") end
	local t = try("open('fashion-mnist', {split='test'})", thaw.data.open, "fashion-mnist", {split = "test"})
	if t then
		thaw.check(#t == 10000, "open('fashion-mnist', {split = 'test'}) must give the test split or refuse split= (got "
			.. #t .. " images)")
	end
	local ok, err = pcall(thaw.data.fashion_mnist, {split = "validation"})
	thaw.check(not ok and tostring(err):find("split must be", 1, true), "fashion_mnist: a bad split is refused")
end
os.execute("rm -rf '" .. dir .. "'")
print("sources done")
