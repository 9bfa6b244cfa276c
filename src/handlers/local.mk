src_libpaybridge_a_SOURCES += \
	src/handlers/dispatch.c src/handlers/dispatch.h \
	src/handlers/health.c src/handlers/health.h \
	src/handlers/testing.c src/handlers/testing.h
src_libpaybridge_a_SOURCES += \
	src/handlers/auth.c src/handlers/auth.h \
	src/handlers/common.c src/handlers/handlers_private.h \
	src/handlers/users.c src/handlers/users.h

# Stripe deliveries (issue 7).
src_libpaybridge_a_SOURCES += src/handlers/webhooks.c src/handlers/webhooks.h

# Payments (issue 9): intents, refunds, orders, and the Idempotency-Key they honour.
src_libpaybridge_a_SOURCES += \
	src/handlers/idempotent.c src/handlers/idempotent.h \
	src/handlers/orders.c src/handlers/orders.h \
	src/handlers/payments.c src/handlers/payments.h

# The public catalog (issue 9).
src_libpaybridge_a_SOURCES += src/handlers/products.c src/handlers/products.h

# The caller's payment methods and setup intents (issue 9).
src_libpaybridge_a_SOURCES += src/handlers/payment_methods.c src/handlers/payment_methods.h

# Checkout, subscriptions and the billing portal (issue 11).
src_libpaybridge_a_SOURCES += \
	src/handlers/checkout.c src/handlers/checkout.h \
	src/handlers/subscriptions.c src/handlers/subscriptions.h
