// The main function of CAF's unit test framework for rros_network_tests.
#define CAF_SUITE rros_network
#include <caf/test/unit_test_impl.hpp>
