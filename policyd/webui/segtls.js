/*
 * segtls.js - greys the TLS version boxes of the Edit Settings form as the
 * gateway does: a box that would make a gap, or leave no version, cannot
 * change. The server checks what is submitted whatever this does; the form
 * works without it (the server greys the boxes of the first view).
 */
"use strict";

/* grey - one service's boxes: only the ends of the run may be unchecked,
 * only the neighbours of the run may be checked */
function grey(span) {
  var boxes = Array.prototype.slice.call(span.querySelectorAll("input.ver"));
  var mask = 0;
  boxes.forEach(function (b) { if (b.checked) mask |= Number(b.dataset.bit); });
  var lo = mask & -mask, hi = 0;
  for (var b = 8; b; b >>= 1) if (mask & b) { hi = b; break; }
  span.querySelectorAll("input.mirror").forEach(function (m) { m.remove(); });
  boxes.forEach(function (box) {
    var bit = Number(box.dataset.bit), off;
    if (box.checked) off = (bit !== lo && bit !== hi) || lo === hi;
    else off = mask !== 0 && bit !== lo >> 1 && bit !== hi << 1;
    box.disabled = off;
    box.parentNode.classList.toggle("grey", off);
    if (box.checked && off) {
      var m = document.createElement("input");
      m.type = "hidden"; m.className = "mirror"; m.name = box.name; m.value = "on";
      box.parentNode.appendChild(m);
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("span.versions").forEach(function (span) {
    span.addEventListener("change", function () { grey(span); });
    grey(span);
  });
});
