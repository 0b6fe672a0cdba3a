//! 缴费: the holder's room (its electricity and water left, bought from the card balance) and
//! campus network account (its days left, bought by the month), with the latest purchases of
//! the room (every roommate's) and of the account. A purchase is charged at once and delivered
//! by the biller a moment later; the page asks again while one is on its way. Without the
//! wasm every form still works: the server sends the browser back here.

use crate::api::utilities::{
    BindNetwork, BindRoom, BuyUtility, RemoveAutobuy, SaveAutobuy, get_utilities,
};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, money};
use crate::i18n::*;
use crate::model::{PurchaseStatus, Utility, campus_time};
use crate::utility_model::{PurchaseView, UtilityOffer};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How often, and how many times at most, the page asks again while the holder's own purchase
/// is on its way (about half a minute; a biller slower than that is followed up by the server,
/// and the page shows the outcome when next opened).
const FOLLOW_MS: u64 = 800;
const FOLLOW_TIMES: u32 = 40;

/// What is left, in the unit's own terms: kWh and tonnes to a tenth, network time in days.
fn left_text(utility: Utility, milli: i64) -> String {
    match utility {
        Utility::Network => (milli / 1000).to_string(),
        _ => format!("{}.{}", milli / 1000, (milli % 1000) / 100),
    }
}

#[component]
pub fn UtilitiesPage() -> impl IntoView {
    let i18n = use_i18n();
    let buy = ServerAction::<BuyUtility>::new();
    let bind_room = ServerAction::<BindRoom>::new();
    let bind_network = ServerAction::<BindNetwork>::new();
    let save_auto = ServerAction::<SaveAutobuy>::new();
    let remove_auto = ServerAction::<RemoveAutobuy>::new();
    // Bumped while the holder's purchase is on its way, to see it delivered.
    let again = RwSignal::new(0u32);
    let query = use_query_map();
    // Back from a form sent without the page's script: the purchase was made.
    let bought_by_form = move || {
        let q = query.read();
        q.get("bought").is_some() && q.get("__err").is_none() && buy.value().get().is_none()
    };
    let page = Resource::new(
        move || {
            (
                buy.version().get(),
                bind_room.version().get(),
                bind_network.version().get(),
                save_auto.version().get(),
                remove_auto.version().get(),
                again.get(),
            )
        },
        |_| get_utilities(),
    );
    // One timer at a time, cleared when the page goes; at most `FOLLOW_TIMES` in a row.
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let clear = move || {
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        timer.set_value(None);
    };
    on_cleanup(clear);
    Effect::new(move |_| {
        let waiting = page.get().and_then(|p| p.ok()).is_some_and(|p| {
            p.purchases
                .iter()
                .any(|x| x.mine && x.status == PurchaseStatus::Pending)
        });
        clear();
        if waiting && again.get_untracked() < FOLLOW_TIMES {
            let handle = set_timeout_with_handle(
                move || again.update(|n| *n += 1),
                std::time::Duration::from_millis(FOLLOW_MS),
            );
            timer.set_value(handle.ok());
        }
    });
    // A new purchase is followed again from the start.
    Effect::new(move |_| {
        buy.version().track();
        again.set(0);
    });
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, utilities.title).to_string()) />
        <h1>{t!(i18n, utilities.title)}</h1>
        <p class="muted">{t!(i18n, utilities.intro)}</p>
        {move || buy.value().get().and_then(|r| r.ok()).map(|made| {
            let p = made.purchase.clone();
            view! {
                <p class="notice ok" role="status" data-testid="purchase-made">
                    {if made.repeated {
                        t_string!(i18n, utilities.repeated).to_string()
                    } else {
                        t_string!(i18n, utilities.bought, amount = money(p.amount), what = what_text(i18n, p.utility, p.quantity, &p.account)).to_string()
                    }}
                </p>
            }
        })}
        {move || bought_by_form().then(|| view! {
            <p class="notice ok" role="status" data-testid="purchase-made">{t!(i18n, utilities.bought_plain)}</p>
        })}
        <ActionError result=buy.value() />
        <ActionError result=bind_room.value() />
        <ActionError result=bind_network.value() />
        <ActionError result=save_auto.value() />
        <ActionError result=remove_auto.value() />
        {move || save_auto.value().get().and_then(|r| r.ok()).map(|_| view! {
            <p class="notice ok" role="status" data-testid="auto-saved">{t!(i18n, utilities.auto_saved)}</p>
        })}
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                page.await.map(|p| {
                    let key = p.request_key.clone();
                    let offers = p.offers.clone();
                    view! {
                        <p data-testid="utilities-balance">{t!(i18n, utilities.balance, balance = money(p.balance))}</p>
                        {(!p.available).then(|| view! {
                            <p class="notice" data-testid="utilities-unavailable">{t!(i18n, utilities.unavailable)}</p>
                        })}
                        <section class="panel" data-testid="room-panel">
                            <h2>{t!(i18n, utilities.room_title)}</h2>
                            {match p.room.clone() {
                                Some(room) => view! { <p data-testid="room-bound">{t!(i18n, utilities.room_bound, room = room)}</p> }.into_any(),
                                None => view! { <p class="muted">{t!(i18n, utilities.room_none)}</p> }.into_any(),
                            }}
                            <ActionForm action=bind_room attr:class="inline-form">
                                <label>
                                    {t!(i18n, utilities.building)}
                                    <select name="building" data-testid="room-building" required=true>
                                        {p.buildings.iter().map(|b| view! { <option value=b.clone()>{b.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>
                                    {t!(i18n, utilities.room)}
                                    <input name="room" data-testid="room-number" required=true maxlength="10" autocomplete="off" inputmode="numeric" />
                                </label>
                                <button type="submit" data-testid="room-bind" disabled=move || bind_room.pending().get()>
                                    {if p.room.is_some() { t_string!(i18n, utilities.change_room) } else { t_string!(i18n, utilities.bind_room) }}
                                </button>
                            </ActionForm>
                            {offers.iter().filter(|o| o.utility != Utility::Network).cloned().map(|o| (o.clone(), o)).map(|(o, o2)| view! {
                                <Offer offer=o request_key=key.clone() buy=buy />
                                <AutoBuy offer=o2 save=save_auto remove=remove_auto />
                            }).collect_view()}
                        </section>
                        <section class="panel" data-testid="network-panel">
                            <h2>{t!(i18n, utilities.network_title)}</h2>
                            {match p.network.clone() {
                                Some(account) => view! { <p data-testid="network-bound">{t!(i18n, utilities.network_bound, account = account)}</p> }.into_any(),
                                None => view! { <p class="muted">{t!(i18n, utilities.network_none)}</p> }.into_any(),
                            }}
                            <ActionForm action=bind_network attr:class="inline-form">
                                <label>
                                    {t!(i18n, utilities.network_account)}
                                    <input name="account" data-testid="network-account" required=true maxlength="32" autocomplete="off" />
                                </label>
                                <button type="submit" data-testid="network-bind" disabled=move || bind_network.pending().get()>
                                    {t!(i18n, utilities.bind_network)}
                                </button>
                            </ActionForm>
                            {offers.iter().filter(|o| o.utility == Utility::Network).cloned().map(|o| view! {
                                <Offer offer=o request_key=key.clone() buy=buy />
                            }).collect_view()}
                        </section>
                        <section class="panel" data-testid="purchases">
                            <h2>{t!(i18n, utilities.purchases)}</h2>
                            {p.purchases.is_empty().then(|| view! { <p class="muted">{t!(i18n, utilities.purchases_none)}</p> })}
                            <ul class="plain bill-list">
                                {p.purchases.iter().cloned().map(|x| view! { <Purchase purchase=x /> }).collect_view()}
                            </ul>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}

/// One thing to buy: what is left, the price, and the form.
#[component]
fn Offer(offer: UtilityOffer, request_key: String, buy: ServerAction<BuyUtility>) -> impl IntoView {
    let i18n = use_i18n();
    let u = offer.utility;
    let name = move || match u {
        Utility::Electricity => t_string!(i18n, utilities.electricity),
        Utility::Water => t_string!(i18n, utilities.water),
        Utility::Network => t_string!(i18n, utilities.network),
    };
    let left = offer.left_milli.map(|m| left_text(u, m));
    let price = money(offer.unit_price);
    let (min, max) = (offer.min.to_string(), offer.max.to_string());
    let quantity_label = {
        let (min, max) = (min.clone(), max.clone());
        move || match u {
            Utility::Electricity => t_string!(
                i18n,
                utilities.quantity_electricity,
                min = min.clone(),
                max = max.clone()
            )
            .to_string(),
            Utility::Water => t_string!(
                i18n,
                utilities.quantity_water,
                min = min.clone(),
                max = max.clone()
            )
            .to_string(),
            Utility::Network => t_string!(
                i18n,
                utilities.quantity_network,
                min = min.clone(),
                max = max.clone()
            )
            .to_string(),
        }
    };
    view! {
        <div class="offer" data-testid=format!("offer-{u}")>
            <h3>{name}</h3>
            <p data-testid=format!("left-{u}")>
                {match left {
                    Some(left) => match u {
                        Utility::Electricity => t_string!(i18n, utilities.left_electricity, left = left).to_string(),
                        Utility::Water => t_string!(i18n, utilities.left_water, left = left).to_string(),
                        Utility::Network => t_string!(i18n, utilities.left_network, left = left).to_string(),
                    },
                    None => t_string!(i18n, utilities.left_unknown).to_string(),
                }}
            </p>
            <p class="muted">
                {match u {
                    Utility::Electricity => t_string!(i18n, utilities.price_electricity, price = price.clone()).to_string(),
                    Utility::Water => t_string!(i18n, utilities.price_water, price = price.clone()).to_string(),
                    Utility::Network => t_string!(i18n, utilities.price_network, price = price.clone()).to_string(),
                }}
            </p>
            <ActionForm action=buy attr:class="inline-form">
                <input type="hidden" name="utility" value=u.as_str() />
                <input type="hidden" name="request_key" value=format!("{request_key}-{u}") />
                <label>
                    {quantity_label}
                    <input name="quantity" type="number" inputmode="numeric" min=min max=max step="1" required=true data-testid=format!("quantity-{u}") />
                </label>
                <button type="submit" class="primary" data-testid=format!("buy-{u}") disabled=move || buy.pending().get()>
                    {t!(i18n, utilities.buy)}
                </button>
            </ActionForm>
        </div>
    }
}

/// A room utility's automatic top-up: what is set, or the form to switch it on (with the
/// query password), and the switch off.
#[component]
fn AutoBuy(
    offer: UtilityOffer,
    save: ServerAction<SaveAutobuy>,
    remove: ServerAction<RemoveAutobuy>,
) -> impl IntoView {
    let i18n = use_i18n();
    let u = offer.utility;
    view! {
        <details class="auto-buy" data-testid=format!("auto-{u}")>
            <summary>{t!(i18n, utilities.auto_title)}</summary>
            <p class="muted">{t!(i18n, utilities.auto_intro)}</p>
            {offer.auto.map(|(below, quantity)| view! {
                <p data-testid=format!("auto-on-{u}")>{t!(i18n, utilities.auto_on, below = below, quantity = quantity)}</p>
                <ActionForm action=remove attr:class="inline-form">
                    <input type="hidden" name="utility" value=u.as_str() />
                    <button type="submit" disabled=move || remove.pending().get()>{t!(i18n, utilities.auto_off)}</button>
                </ActionForm>
            })}
            <ActionForm action=save attr:class="inline-form">
                <input type="hidden" name="utility" value=u.as_str() />
                <label>{t!(i18n, utilities.auto_below)}
                    <input name="below" type="number" inputmode="numeric" min="1" max="100" step="1" required=true />
                </label>
                <label>{t!(i18n, utilities.auto_quantity)}
                    <input name="quantity" type="number" inputmode="numeric" min=offer.min.to_string() max=offer.max.to_string() step="1" required=true />
                </label>
                <label>{t!(i18n, utilities.auto_password)}
                    <input name="password" type="password" autocomplete="current-password" required=true />
                </label>
                <button type="submit" disabled=move || save.pending().get()>{t!(i18n, utilities.auto_save)}</button>
            </ActionForm>
        </details>
    }
}

/// "50 kWh for room 9-101" in the page's language.
pub(crate) fn what_text(
    i18n: leptos_i18n::I18nContext<Locale>,
    utility: Utility,
    quantity: i64,
    account: &str,
) -> String {
    let (quantity, account) = (quantity.to_string(), account.to_string());
    match utility {
        Utility::Electricity => t_string!(
            i18n,
            utilities.what_electricity,
            quantity = quantity,
            account = account
        )
        .to_string(),
        Utility::Water => t_string!(
            i18n,
            utilities.what_water,
            quantity = quantity,
            account = account
        )
        .to_string(),
        Utility::Network => t_string!(
            i18n,
            utilities.what_network,
            quantity = quantity,
            account = account
        )
        .to_string(),
    }
}

/// A purchase: what, how much, where it stands, and its receipt numbers.
#[component]
fn Purchase(purchase: PurchaseView) -> impl IntoView {
    let i18n = use_i18n();
    let p = purchase;
    let status = p.status;
    let (why, amount) = (p.failure.clone(), money(p.amount));
    let what = {
        let p = p.clone();
        move || what_text(i18n, p.utility, p.quantity, &p.account)
    };
    view! {
        <li class="bill" data-testid="purchase" data-status=status.as_str()>
            <p class="bill-head">
                <strong>{what}</strong>
                <span class="amount">{money(p.amount)}</span>
            </p>
            <p data-testid="purchase-status" class=if status == PurchaseStatus::Refunded { "due late" } else { "due" }>
                {move || match status {
                    PurchaseStatus::Pending => t_string!(i18n, utilities.status_pending).to_string(),
                    PurchaseStatus::Delivered => t_string!(i18n, utilities.status_delivered).to_string(),
                    PurchaseStatus::Refunded => t_string!(i18n, utilities.status_refunded, why = why.clone(), amount = amount.clone()).to_string(),
                }}
            </p>
            <p class="muted">
                {campus_time(&p.at)}
                {p.entry_id.map(|entry| {
                    let refund = p.refund_id.map(|id| format!(" / #{id}")).unwrap_or_default();
                    view! { " · " {t!(i18n, utilities.receipt)} " " {p.reference.clone()} " · #" {entry} {refund} }
                })}
                {(!p.mine).then(|| view! { " · " {t!(i18n, utilities.by_roommate)} })}
            </p>
        </li>
    }
}
