package org.redhare.text.template;

import java.util.List;
import java.util.Map;
import org.redhare.text.template.Values.Builtin;
import org.redhare.text.template.Values.PyCallable;
import org.redhare.text.template.Values.Undefined;

/** The {@code loop} variable of a for loop. Calling it (recursive loops) renders the loop body over new items. */
final class LoopContext implements PyCallable {

    private final List<Object> items;
    final int depth0;
    private final PyCallable recurse;    // null unless the loop is recursive
    int index0;
    private Object lastChanged = new Object();

    LoopContext(List<Object> items, int depth0, PyCallable recurse) {
        this.items = items;
        this.depth0 = depth0;
        this.recurse = recurse;
    }

    Object attr(String name) {
        int n = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> (long) (n - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> (long) depth0 + 1;
            case "depth0" -> (long) depth0;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
            case "nextitem" -> index0 + 1 < n ? items.get(index0 + 1) : new Undefined("there is no next item");
            case "cycle" -> new Builtin("cycle", (args, kw) -> {
                if (args.isEmpty()) {
                    throw PyError.type("no items for cycling given");
                }
                return args.get(index0 % args.size());
            });
            case "changed" -> new Builtin("changed", (args, kw) -> {
                Object v = args.size() == 1 ? args.getFirst() : new Values.Tuple(args);
                if (!Py.eq(v, lastChanged)) {
                    lastChanged = v;
                    return true;
                }
                return false;
            });
            default -> new Undefined("'LoopContext' object has no attribute '" + name + "'");
        };
    }

    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
        if (recurse == null) {
            throw PyError.type("The loop must have the 'recursive' marker to be called recursively.");
        }
        return recurse.call(args, kwargs);
    }
}
