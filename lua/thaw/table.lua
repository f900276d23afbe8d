-- thaw.table: plain-text tables for experiment reports.
--
--   local tbl = require "thaw.table"
--   local t = tbl.new{"method", "test acc", "time s"}
--   t:row{"scratch", "71.2%", "3.4"}
--   print(t)                    -- aligned, numbers right-aligned
--   t:write(path)               -- the same text into a file
--
-- Cells are converted with tostring; a cell that looks like a number
-- (optionally with a trailing %, s or x) is right-aligned, text is left-aligned.
local M = {}
local Table = {}
Table.__index = Table

function M.new(headers)
  assert(type(headers) == "table" and #headers > 0, "thaw.table.new: a list of column headers")
  return setmetatable({headers = headers, rows = {}}, Table)
end

function Table:row(cells)
  assert(type(cells) == "table", "thaw.table:row: a list of cells")
  local r = {}
  for i = 1, #self.headers do
    r[i] = cells[i] == nil and "" or tostring(cells[i])
  end
  self.rows[#self.rows + 1] = r
  return self
end

-- A horizontal rule between groups of rows.
function Table:rule()
  self.rows[#self.rows + 1] = false
  return self
end

local function numeric(s)
  return s:match("^[-+]?[%d.,]+[%%sx]?$") ~= nil
end

function Table:format()
  local w = {}
  for i, h in ipairs(self.headers) do
    w[i] = #h
    for _, r in ipairs(self.rows) do
      if r and #r[i] > w[i] then w[i] = #r[i] end
    end
  end
  local function line(cells, head)
    local out = {}
    for i, c in ipairs(cells) do
      local pad = string.rep(" ", w[i] - #c)
      -- headers follow their column's alignment (judged on its first row)
      local right = numeric(c)
      if head then
        local first = self.rows[1] or nil
        right = first and numeric(first[i]) or false
      end
      out[i] = right and pad .. c or c .. pad
    end
    return (table.concat(out, "  "):gsub("%s+$", ""))
  end
  local total = -2
  for i = 1, #w do total = total + w[i] + 2 end
  local rule = string.rep("-", total)
  local lines = {line(self.headers, true), rule}
  for _, r in ipairs(self.rows) do
    lines[#lines + 1] = r and line(r) or rule
  end
  return table.concat(lines, "\n") .. "\n"
end

Table.__tostring = function(t) return (t:format():gsub("\n$", "")) end

-- Writes the table (and an optional title line above it) to path.
function Table:write(path, title)
  local f, err = io.open(path, "w")
  if not f then error("thaw.table: cannot write " .. path .. ": " .. tostring(err), 2) end
  if title then f:write(title, "\n\n") end
  f:write(self:format())
  f:close()
end

-- "87.3%" from 0.873
function M.pct(x, digits)
  return string.format("%." .. (digits or 1) .. "f%%", 100 * x)
end

-- Wall seconds a fit history spent training (the sum of its epochs).
function M.fit_seconds(hist)
  local s = 0
  for _, e in ipairs(hist) do s = s + (e.seconds or 0) end
  return s
end

return M
