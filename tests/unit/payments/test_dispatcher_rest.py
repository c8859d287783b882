"""An idle provider loop looks again less and less often, and often again as soon as it finds work."""

from __future__ import annotations

from payments.dispatcher import Rest


def test_empty_looks_double_the_rest_up_to_the_longest_and_work_makes_it_short_again() -> None:
    rest = Rest(0.2, 2.0)

    idle = [rest.after(0) for _ in range(6)]
    after_work = rest.after(3)
    idle_again = rest.after(0)

    assert idle == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert (after_work, idle_again) == (0.0, 0.2)


def test_a_reset_rest_starts_short_and_a_constant_one_never_grows() -> None:
    rest = Rest(0.2, 2.0)
    rest.after(0)
    rest.after(0)
    rest.reset()
    constant = Rest(0.2, 0.2)

    assert rest.after(0) == 0.2
    assert [constant.after(0) for _ in range(3)] == [0.2, 0.2, 0.2]
