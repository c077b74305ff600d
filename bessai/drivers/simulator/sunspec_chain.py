"""The simulated battery as a SunSpec device: common, storage, battery and lithium-ion models.

``bessai simulate --sunspec`` serves this chain so that discovery is tested
end to end: the "SunS" marker at 40000, model 1 (identity), 124 (storage
control), 713 (DER storage capacity), 802 (battery base), 803 (lithium-ion
string, no strings listed) and the end marker. Scale factors differ from
model to model so that a reader that ignores them reads wrong values; they
are served as the unit's own registers, and a test may change them while it
runs (the profile reads them live).
"""

from __future__ import annotations

from bessai import __version__
from bessai.drivers.profile import Profile
from bessai.drivers.profile_loader import parse_profile
from bessai.drivers.sunspec import (
    BASE_ADDRESSES,
    chain_addresses,
    model,
    profile_dict,
    register_name,
)

SIM_CHAIN = [1, 124, 713, 802, 803]
SIM_BASE = BASE_ADDRESSES[0]
SIM_RATED_W = 100_000.0
SIM_REVERT_S = 60  # what discovery writes too: the unit obeys only its own enter values
SIM_CURRENT_LIMIT_A = 250.0  # model 802's AChaMax and ADisChaMax: the BMS's current limits
SIM_IDENTITY = {
    "Mn": "BESSAI",
    "Md": "SIM-BESS-SUNSPEC",
    "Opt": "sim",
    "Vr": __version__,
    "SN": "SIM-SUNSPEC-0001",
}
# Exponents the simulated unit reports; every value it serves is scaled by them.
SIM_SCALE_FACTORS = {
    "st_wchamax_sf": 1,
    "st_wchadischagra_sf": 0,
    "st_vachamax_sf": 1,
    "st_minrsvpct_sf": -1,
    "st_chastate_sf": -1,
    "st_storaval_sf": 1,
    "st_inbatv_sf": -1,
    "st_inoutwrte_sf": -2,
    "ds_wh_sf": 1,
    "ds_pct_sf": -1,
    "bat_ahrtg_sf": 0,
    "bat_whrtg_sf": 1,
    "bat_wchadischamax_sf": 1,
    "bat_discharte_sf": 0,
    "bat_soc_sf": -2,
    "bat_dod_sf": -1,
    "bat_soh_sf": -1,
    "bat_v_sf": -1,
    "bat_cellv_sf": -3,
    "bat_a_sf": -1,
    "bat_amax_sf": 0,
    "bat_w_sf": 1,
    "lis_cellv_sf": -3,
    "lis_modtmp_sf": -1,
    "lis_a_sf": -1,
    "lis_soh_sf": -1,
    "lis_soc_sf": -1,
    "lis_v_sf": -1,
}


def sunspec_simulator_map() -> tuple[Profile, dict[str, float | str]]:
    """The chain as a profile the simulator serves, and the words it fixes."""
    chain = chain_addresses(SIM_BASE, SIM_CHAIN)
    data = profile_dict(
        chain,
        SIM_BASE,
        SIM_SCALE_FACTORS,
        identity=SIM_IDENTITY,
        profile_id="sim_bess_sunspec",
        source="BESSAI simulator, SunSpec chain 1/124/713/802/803 at 40000",
        rated_w=SIM_RATED_W,
        revert_s=SIM_REVERT_S,
        verified=True,  # the simulator's map is its own definition
    )
    profile = parse_profile(data, "simulator SunSpec map")
    constants: dict[str, float | str] = {"sunspec_marker": 0x53756E53, "sunspec_end": 0xFFFF0000}
    for placed in chain:
        definition = model(placed.id)
        assert definition is not None
        constants[register_name(placed.id, "ID")] = placed.id
        constants[register_name(placed.id, "L")] = placed.length
        for point in definition.points:
            if point.kind == "sunssf":
                constants[register_name(placed.id, point.name)] = SIM_SCALE_FACTORS.get(
                    register_name(placed.id, point.name), 0
                )
    for name, text in SIM_IDENTITY.items():
        constants[register_name(1, name)] = text
    constants["c_da"] = 1
    constants["bat_achamax"] = constants["bat_adischamax"] = SIM_CURRENT_LIMIT_A
    return profile, constants
