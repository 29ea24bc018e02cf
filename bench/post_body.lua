-- wrk: POST the contents of the file given as BODY=<path> (after the URL) with every request.
function init(args)
  for _, arg in ipairs(args) do
    local path = string.match(arg, "^BODY=(.+)$")
    if path then
      local f = io.open(path, "r")
      wrk.body = f:read("*a"):gsub("%s+$", "")
      f:close()
    end
  end
  wrk.method = "POST"
end
