# f = (x + y) · x at x = 3, y = -1. Forward: s = x + y = 2, f = s · x = 6.
# Backward: f̄ = 1; s̄ = f̄ · x = 3; ȳ = s̄ · 1 = 3;
# x̄ = s̄ · 1 (through the sum) + f̄ · s (through the product) = 3 + 2 = 5.
df_dx = 5.0
df_dy = 3.0
