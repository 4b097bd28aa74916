# gcc's warnings and errors as "path kind message", without line and
# column; anything else (notes, source excerpts) is dropped.  Used with
# sed -nE by check-compile.sh.
s#^([^:]*):[0-9]+:[0-9]+: (warning|error): (.*)#\1 \2 \3#p
