-- Writes a small PNG class folder: DIR/<class>/<k>.png, 8-bit gray, with
-- zlib "stored" blocks (no compressor needed). Used as a module
-- (dofile(...).write(dir)) and as a script: thaw run pngfolder.lua -- DIR
local M = {}

local crc_table = {}
for n = 0, 255 do
	local c = n
	for _ = 1, 8 do
		c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1)
	end
	crc_table[n] = c
end

local function crc32(s)
	local c = 0xFFFFFFFF
	for i = 1, #s do
		c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8)
	end
	return c ~ 0xFFFFFFFF
end

local function adler32(s)
	local a, b = 1, 0
	for i = 1, #s do
		a = (a + s:byte(i)) % 65521
		b = (b + a) % 65521
	end
	return (b << 16) | a
end

local function chunk(kind, data)
	return string.pack(">I4", #data) .. kind .. data .. string.pack(">I4", crc32(kind .. data))
end

-- pixels: a function (x, y) -> 0..255, x and y from 0
function M.png(path, w, h, pixels)
	local rows = {}
	for y = 0, h - 1 do
		local r = {"\0"} -- filter type 0 for every row
		for x = 0, w - 1 do r[#r + 1] = string.char(pixels(x, y)) end
		rows[#rows + 1] = table.concat(r)
	end
	local raw = table.concat(rows)
	assert(#raw < 65536, "one stored block only")
	local z = "\x78\x01" .. string.pack("<BI2I2", 1, #raw, (~#raw) & 0xFFFF) .. raw ..
		string.pack(">I4", adler32(raw))
	local f = assert(io.open(path, "wb"))
	f:write("\x89PNG\r\n\x1a\n", chunk("IHDR", string.pack(">I4I4BBBBB", w, h, 8, 0, 0, 0, 0)),
		chunk("IDAT", z), chunk("IEND", ""))
	f:close()
end

-- Three classes of six 16x16 images (one of them 20x20, to be resized):
-- a horizontal bar, a vertical bar, a centred square; the position varies.
M.classes = {"hbar", "square", "vbar"}
function M.write(dir)
	assert(os.execute("mkdir -p '" .. dir .. "/hbar' '" .. dir .. "/vbar' '" .. dir .. "/square'"))
	for k = 0, 5 do
		local size = k == 5 and 20 or 16
		local o = 3 + k
		M.png(string.format("%s/hbar/%d.png", dir, k), size, size, function(_, y)
			return (y >= o and y < o + 3) and 230 or 20
		end)
		M.png(string.format("%s/vbar/%d.png", dir, k), size, size, function(x)
			return (x >= o and x < o + 3) and 230 or 20
		end)
		M.png(string.format("%s/square/%d.png", dir, k), size, size, function(x, y)
			return (x >= 5 and x < 11 and y >= 5 and y < 11) and 200 - 10 * k or 30
		end)
	end
end

if arg and arg[0] and arg[0]:match("pngfolder%.lua$") and arg[1] then
	M.write(arg[1])
	print("wrote " .. arg[1])
end
return M
