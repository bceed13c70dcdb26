/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Date with time (isoformat) */
  DateTime: { input: string; output: string; }
  /** The `JSON` scalar type represents JSON values as specified by [ECMA-404](https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf). */
  JSON: { input: unknown; output: unknown; }
};

export type AcknowledgePartyOrderInput = {
  committedDeliveryDate: Scalars['DateTime']['input'];
  milestones?: InputMaybe<Array<MilestoneInput>>;
  partyReference: Scalars['String']['input'];
};

export type ActivityProgressInput = {
  actualEnd?: InputMaybe<Scalars['DateTime']['input']>;
  actualStart?: InputMaybe<Scalars['DateTime']['input']>;
  expectedEnd?: InputMaybe<Scalars['DateTime']['input']>;
  note?: InputMaybe<Scalars['String']['input']>;
  percentComplete?: InputMaybe<Scalars['Int']['input']>;
  state?: InputMaybe<ActivityState>;
};

export type ActivityState =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PLANNED';

/** A new item (with its children), at the top of the tree or under an existing item. */
export type AddOrderItemInput = {
  item: OrderItemInput;
  /** The item it goes under; none: a top-level item. */
  parentId?: InputMaybe<Scalars['ID']['input']>;
};

/** One amendment of an order in flight: a new revision of it, applied whole or refused whole. */
export type AmendCustomerOrderInput = {
  add?: InputMaybe<Array<AddOrderItemInput>>;
  modify?: InputMaybe<Array<ModifyOrderItemInput>>;
  remove?: InputMaybe<Array<RemoveOrderItemInput>>;
};

export type ChangeDecision =
  | 'ACCEPT'
  | 'REJECT';

export type ChangeKind =
  | 'DELIVERY_DATE'
  | 'OTHER';

/** FORCED: outside the party's control; REQUESTED: the party asks for it. */
export type ChangeNature =
  | 'FORCED'
  | 'REQUESTED';

export type ChangeRequestInput = {
  kind: ChangeKind;
  nature: ChangeNature;
  proposedDeliveryDate?: InputMaybe<Scalars['DateTime']['input']>;
  reason: Scalars['String']['input'];
};

export type ChangeRequestState =
  | 'ACCEPTED'
  | 'OPEN'
  | 'REJECTED';

export type CharacteristicInput = {
  name: Scalars['String']['input'];
  value: Scalars['String']['input'];
};

export type CheckInInput = {
  at: Scalars['DateTime']['input'];
  newExpectedDeliveryDate?: InputMaybe<Scalars['DateTime']['input']>;
  outcome: Scalars['String']['input'];
  withWhom: Scalars['String']['input'];
};

export type ContactInput = {
  email?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  phone?: InputMaybe<Scalars['String']['input']>;
  role?: InputMaybe<Scalars['String']['input']>;
};

/** A new token; a partner token names its party. */
export type CreateApiTokenInput = {
  /** Lifetime such as 30d, 12h, 90m, 2w; null: until revoked. */
  expiresIn?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  partyId?: InputMaybe<Scalars['ID']['input']>;
  role: TokenRole;
};

export type CreateCustomerOrderInput = {
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  /** The agreed committed availability date (future). */
  committedDate: Scalars['DateTime']['input'];
  contacts?: InputMaybe<Array<ContactInput>>;
  customerId: Scalars['String']['input'];
  customerName: Scalars['String']['input'];
  description?: InputMaybe<Scalars['String']['input']>;
  items: Array<OrderItemInput>;
  priority?: Priority;
  /** When the sales request was made (default now). */
  requestedAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** The initiating sales request; one order per sales request. */
  salesRequestRef: Scalars['String']['input'];
};

export type CreatePartyInput = {
  kind: PartyKind;
  name: Scalars['String']['input'];
  /** How often the party should report, in hours. */
  reportingIntervalHours: Scalars['Int']['input'];
};

/** A webhook: where, which events (types or their TMF/MEF names), and in which shape. */
export type CreateWebhookInput = {
  /** GRAPHQL format: a subscription such as 'subscription { event { type sequence after } }'. */
  document?: InputMaybe<Scalars['String']['input']>;
  eventTypes: Array<Scalars['String']['input']>;
  payloadFormat: WebhookPayloadFormat;
  url: Scalars['String']['input'];
};

export type CustomerOrderFilter = {
  /** Committed date on or after. */
  committedFrom?: InputMaybe<Scalars['DateTime']['input']>;
  /** Committed date before. */
  committedTo?: InputMaybe<Scalars['DateTime']['input']>;
  customerId?: InputMaybe<Scalars['String']['input']>;
  jeopardyLevels?: InputMaybe<Array<JeopardyLevel>>;
  priorities?: InputMaybe<Array<Priority>>;
  states?: InputMaybe<Array<OrderState>>;
  /** Part of the sales request reference or customer name. */
  text?: InputMaybe<Scalars['String']['input']>;
};

export type EscalationDirection =
  | 'DEESCALATE'
  | 'ESCALATE';

/** Who delivers an item: the enterprise itself, or another party. */
export type Fulfillment =
  | 'INTERNAL'
  | 'PARTY';

export type ItemAction =
  | 'ADD'
  | 'DELETE'
  | 'MODIFY';

/** How far an order or piece of work is from meeting its date. */
export type JeopardyLevel =
  | 'AT_RISK'
  | 'JEOPARDY'
  | 'LATE'
  | 'NONE';

export type MilestoneInput = {
  name: Scalars['String']['input'];
  plannedDate: Scalars['DateTime']['input'];
};

/** Only the fields given change. Characteristics are merged by name. */
export type ModifyOrderItemInput = {
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  itemId: Scalars['ID']['input'];
  quantity?: InputMaybe<Scalars['Int']['input']>;
  removeCharacteristics?: InputMaybe<Array<Scalars['String']['input']>>;
};

export type OrderItemInput = {
  action?: ItemAction;
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  children?: InputMaybe<Array<OrderItemInput>>;
  fulfillment?: Fulfillment;
  /** The party that delivers a party-fulfilled item. */
  partyId?: InputMaybe<Scalars['ID']['input']>;
  productRef: Scalars['String']['input'];
  quantity?: Scalars['Int']['input'];
};

/** TMF622 ProductOrderItem states. */
export type OrderItemState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type OrderSortField =
  | 'COMMITTED_DATE'
  | 'CREATED_AT'
  | 'PRIORITY'
  | 'SALES_REQUEST_REF'
  | 'UPDATED_AT';

/** TMF622 ProductOrder states. */
export type OrderState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PARTIAL'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

/** Which orders a dashboard follows; every field given must match. */
export type OrderStreamFilter = {
  customerId?: InputMaybe<Scalars['String']['input']>;
  jeopardyLevels?: InputMaybe<Array<JeopardyLevel>>;
  /** Orders with an item or party order of this party. */
  partyId?: InputMaybe<Scalars['ID']['input']>;
  states?: InputMaybe<Array<OrderState>>;
};

export type PartyKind =
  | 'PARTNER'
  | 'SUPPLIER';

export type PartyOrderFilter = {
  jeopardyLevels?: InputMaybe<Array<JeopardyLevel>>;
  /** Needed-by on or after. */
  neededFrom?: InputMaybe<Scalars['DateTime']['input']>;
  /** Needed-by before. */
  neededTo?: InputMaybe<Scalars['DateTime']['input']>;
  orderId?: InputMaybe<Scalars['ID']['input']>;
  partyId?: InputMaybe<Scalars['ID']['input']>;
  /** True: no report within the party's interval. */
  reportOverdue?: InputMaybe<Scalars['Boolean']['input']>;
  states?: InputMaybe<Array<PartyOrderState>>;
};

export type PartyOrderSortField =
  | 'CREATED_AT'
  | 'NEEDED_BY'
  | 'UPDATED_AT';

/** Party order states (TMF622 / MEF LSO names). A new requisition is PENDING until the party acknowledges it. */
export type PartyOrderState =
  | 'ACKNOWLEDGED'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type Priority =
  | 'CRITICAL'
  | 'HIGH'
  | 'LOW'
  | 'NORMAL';

export type ProgressReportInput = {
  expectedDeliveryDate?: InputMaybe<Scalars['DateTime']['input']>;
  /** A milestone reached. */
  milestoneId?: InputMaybe<Scalars['ID']['input']>;
  note?: InputMaybe<Scalars['String']['input']>;
  percentComplete?: InputMaybe<Scalars['Int']['input']>;
};

/** An item no longer wanted; its children go with it. */
export type RemoveOrderItemInput = {
  itemId: Scalars['ID']['input'];
  reason: Scalars['String']['input'];
};

/** Without itemIds: every party-fulfilled item of the order not yet ordered, one party order per party. */
export type RequestPartyOrdersInput = {
  itemIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Default: the customer order's committed date; earlier allowed. */
  neededBy?: InputMaybe<Scalars['DateTime']['input']>;
  orderId: Scalars['ID']['input'];
  partyId?: InputMaybe<Scalars['ID']['input']>;
};

export type ScheduleActivityInput = {
  assignee?: InputMaybe<Scalars['String']['input']>;
  itemId?: InputMaybe<Scalars['ID']['input']>;
  kind: Scalars['String']['input'];
  note?: InputMaybe<Scalars['String']['input']>;
  plannedEnd: Scalars['DateTime']['input'];
  plannedStart: Scalars['DateTime']['input'];
  predecessorIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Party orders of the same customer order that must deliver before it can start. */
  waitsOnPartyOrderIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  workGroup?: InputMaybe<Scalars['String']['input']>;
};

/** TMF641 ServiceOrder states used by service order requests. */
export type ServiceOrderRequestState =
  | 'ACKNOWLEDGED'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'REJECTED';

export type SortDirection =
  | 'ASC'
  | 'DESC';

/** What a token may do: STAFF everything, VIEWER read, PARTNER its own party's orders. */
export type TokenRole =
  | 'PARTNER'
  | 'STAFF'
  | 'VIEWER';

/** Only the fields given change. Characteristics are merged by name. */
export type UpdateCustomerOrderInput = {
  characteristics?: InputMaybe<Array<CharacteristicInput>>;
  committedDate?: InputMaybe<Scalars['DateTime']['input']>;
  contacts?: InputMaybe<Array<ContactInput>>;
  customerName?: InputMaybe<Scalars['String']['input']>;
  description?: InputMaybe<Scalars['String']['input']>;
  priority?: InputMaybe<Priority>;
  removeCharacteristics?: InputMaybe<Array<Scalars['String']['input']>>;
};

/** Information from the party's feedback; only the fields given change. */
export type UpdatePartyOrderInput = {
  committedDeliveryDate?: InputMaybe<Scalars['DateTime']['input']>;
  expectedDeliveryDate?: InputMaybe<Scalars['DateTime']['input']>;
  neededBy?: InputMaybe<Scalars['DateTime']['input']>;
  note?: InputMaybe<Scalars['String']['input']>;
  partyReference?: InputMaybe<Scalars['String']['input']>;
};

/** What to change; paused pauses or resumes (a failing webhook resumes at once); rotateSecret issues a new secret. */
export type UpdateWebhookInput = {
  document?: InputMaybe<Scalars['String']['input']>;
  eventTypes?: InputMaybe<Array<Scalars['String']['input']>>;
  paused?: InputMaybe<Scalars['Boolean']['input']>;
  payloadFormat?: InputMaybe<WebhookPayloadFormat>;
  rotateSecret?: Scalars['Boolean']['input'];
  url?: InputMaybe<Scalars['String']['input']>;
};

/** pending: waiting for its next attempt; delivered; failed: gave up for now (the webhook is failing). */
export type WebhookDeliveryState =
  | 'DELIVERED'
  | 'FAILED'
  | 'PENDING';

/** TMF: TMF622/TMF641/MEF envelope; THIN: ids only; GRAPHQL: shaped by the webhook's subscription document. */
export type WebhookPayloadFormat =
  | 'GRAPHQL'
  | 'THIN'
  | 'TMF';

/** active: delivering; paused: by hand; failing: the next event keeps failing (see failureReason). */
export type WebhookState =
  | 'ACTIVE'
  | 'FAILING'
  | 'PAUSED';

export type AcknowledgePartyOrderInput = {
  committedDeliveryDate: string;
  milestones?: Array<MilestoneInput> | null | undefined;
  partyReference: string;
};

export type ActivityState =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PLANNED';

/** A new item (with its children), at the top of the tree or under an existing item. */
export type AddOrderItemInput = {
  item: OrderItemInput;
  /** The item it goes under; none: a top-level item. */
  parentId?: string | number | null | undefined;
};

/** One amendment of an order in flight: a new revision of it, applied whole or refused whole. */
export type AmendCustomerOrderInput = {
  add?: Array<AddOrderItemInput> | null | undefined;
  modify?: Array<ModifyOrderItemInput> | null | undefined;
  remove?: Array<RemoveOrderItemInput> | null | undefined;
};

export type ChangeDecision =
  | 'ACCEPT'
  | 'REJECT';

export type ChangeKind =
  | 'DELIVERY_DATE'
  | 'OTHER';

/** FORCED: outside the party's control; REQUESTED: the party asks for it. */
export type ChangeNature =
  | 'FORCED'
  | 'REQUESTED';

export type ChangeRequestInput = {
  kind: ChangeKind;
  nature: ChangeNature;
  proposedDeliveryDate?: string | null | undefined;
  reason: string;
};

export type ChangeRequestState =
  | 'ACCEPTED'
  | 'OPEN'
  | 'REJECTED';

export type CharacteristicInput = {
  name: string;
  value: string;
};

export type CustomerOrderFilter = {
  /** Committed date on or after. */
  committedFrom?: string | null | undefined;
  /** Committed date before. */
  committedTo?: string | null | undefined;
  customerId?: string | null | undefined;
  jeopardyLevels?: Array<JeopardyLevel> | null | undefined;
  priorities?: Array<Priority> | null | undefined;
  states?: Array<OrderState> | null | undefined;
  /** Part of the sales request reference or customer name. */
  text?: string | null | undefined;
};

export type EscalationDirection =
  | 'DEESCALATE'
  | 'ESCALATE';

/** Who delivers an item: the enterprise itself, or another party. */
export type Fulfillment =
  | 'INTERNAL'
  | 'PARTY';

export type ItemAction =
  | 'ADD'
  | 'DELETE'
  | 'MODIFY';

/** How far an order or piece of work is from meeting its date. */
export type JeopardyLevel =
  | 'AT_RISK'
  | 'JEOPARDY'
  | 'LATE'
  | 'NONE';

export type MilestoneInput = {
  name: string;
  plannedDate: string;
};

/** Only the fields given change. Characteristics are merged by name. */
export type ModifyOrderItemInput = {
  characteristics?: Array<CharacteristicInput> | null | undefined;
  itemId: string | number;
  quantity?: number | null | undefined;
  removeCharacteristics?: Array<string> | null | undefined;
};

export type OrderItemInput = {
  action?: ItemAction;
  characteristics?: Array<CharacteristicInput> | null | undefined;
  children?: Array<OrderItemInput> | null | undefined;
  fulfillment?: Fulfillment;
  /** The party that delivers a party-fulfilled item. */
  partyId?: string | number | null | undefined;
  productRef: string;
  quantity?: number;
};

/** TMF622 ProductOrderItem states. */
export type OrderItemState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type OrderSortField =
  | 'COMMITTED_DATE'
  | 'CREATED_AT'
  | 'PRIORITY'
  | 'SALES_REQUEST_REF'
  | 'UPDATED_AT';

/** TMF622 ProductOrder states. */
export type OrderState =
  | 'ACKNOWLEDGED'
  | 'ASSESSING_CANCELLATION'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PARTIAL'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

/** Which orders a dashboard follows; every field given must match. */
export type OrderStreamFilter = {
  customerId?: string | null | undefined;
  jeopardyLevels?: Array<JeopardyLevel> | null | undefined;
  /** Orders with an item or party order of this party. */
  partyId?: string | number | null | undefined;
  states?: Array<OrderState> | null | undefined;
};

export type PartyOrderFilter = {
  jeopardyLevels?: Array<JeopardyLevel> | null | undefined;
  /** Needed-by on or after. */
  neededFrom?: string | null | undefined;
  /** Needed-by before. */
  neededTo?: string | null | undefined;
  orderId?: string | number | null | undefined;
  partyId?: string | number | null | undefined;
  /** True: no report within the party's interval. */
  reportOverdue?: boolean | null | undefined;
  states?: Array<PartyOrderState> | null | undefined;
};

export type PartyOrderSortField =
  | 'CREATED_AT'
  | 'NEEDED_BY'
  | 'UPDATED_AT';

/** Party order states (TMF622 / MEF LSO names). A new requisition is PENDING until the party acknowledges it. */
export type PartyOrderState =
  | 'ACKNOWLEDGED'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'PENDING_CANCELLATION'
  | 'REJECTED';

export type Priority =
  | 'CRITICAL'
  | 'HIGH'
  | 'LOW'
  | 'NORMAL';

export type ProgressReportInput = {
  expectedDeliveryDate?: string | null | undefined;
  /** A milestone reached. */
  milestoneId?: string | number | null | undefined;
  note?: string | null | undefined;
  percentComplete?: number | null | undefined;
};

/** An item no longer wanted; its children go with it. */
export type RemoveOrderItemInput = {
  itemId: string | number;
  reason: string;
};

/** TMF641 ServiceOrder states used by service order requests. */
export type ServiceOrderRequestState =
  | 'ACKNOWLEDGED'
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'HELD'
  | 'IN_PROGRESS'
  | 'REJECTED';

export type SortDirection =
  | 'ASC'
  | 'DESC';

export type AmendCustomerOrderMutationVariables = Exact<{
  id: string | number;
  version: number;
  input: AmendCustomerOrderInput;
}>;


export type AmendCustomerOrderMutation = { amendCustomerOrder: { revision: number, id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string, items: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState, children: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState }> }>, activities: Array<{ id: string, itemId: string | null, kind: string, state: ActivityState, plannedStart: string, plannedEnd: string, actualStart: string | null, actualEnd: string | null, expectedEnd: string | null, percentComplete: number, workGroup: string | null, assignee: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, predecessorIds: Array<string>, version: number }>, serviceOrderRequests: Array<{ supplement: number, id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string }>, partyOrders: Array<{ revision: number, id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, party: { id: string, name: string } }> } };

export type AmendmentPreviewQueryVariables = Exact<{
  id: string | number;
  input: AmendCustomerOrderInput;
}>;


export type AmendmentPreviewQuery = { amendmentPreview: { allowed: boolean, revision: number, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, refusals: Array<{ itemId: string, reason: string }>, effects: { addedItems: Array<string>, modifiedItems: Array<string>, removedItems: Array<string>, rescheduledActivities: Array<string>, cancelledActivities: Array<string>, supplementedServiceOrderRequests: Array<string>, cancelledServiceOrderRequests: Array<string>, revisedPartyOrders: Array<string>, cancelledPartyOrders: Array<string>, cancellationRequestedPartyOrders: Array<string> } } };

export type OpenChangeRequestsQueryVariables = Exact<{
  orderId?: string | number | null | undefined;
  partyId?: string | number | null | undefined;
  first?: number;
  after?: string | null | undefined;
}>;


export type OpenChangeRequestsQuery = { openChangeRequests: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, partyOrderId: string, nature: ChangeNature, kind: ChangeKind, proposedDeliveryDate: string | null, reason: string, state: ChangeRequestState, resolutionNote: string | null, resolvedBy: string | null, resolvedAt: string | null, raisedBy: string, createdAt: string } }> } };

export type ResolveChangeRequestMutationVariables = Exact<{
  id: string | number;
  decision: ChangeDecision;
  note?: string | null | undefined;
}>;


export type ResolveChangeRequestMutation = { resolvePartyChangeRequest: { id: string, partyOrderId: string, nature: ChangeNature, kind: ChangeKind, proposedDeliveryDate: string | null, reason: string, state: ChangeRequestState, resolutionNote: string | null, resolvedBy: string | null, resolvedAt: string | null, raisedBy: string, createdAt: string } };

export type EscalationPolicyQueryVariables = Exact<{ [key: string]: never; }>;


export type EscalationPolicyQuery = { escalationPolicy: { atRiskSlack: number, levels: Array<{ level: number, name: string }>, rules: Array<{ name: string, level: JeopardyLevel, escalateTo: number, afterSeconds: number, notify: Array<string>, priorities: Array<string>, customers: Array<string> }> } };

export type EscalateOrderMutationVariables = Exact<{
  id: string | number;
  level: number;
  reason: string;
  notify?: Array<string> | string | null | undefined;
  version?: number | null | undefined;
}>;


export type EscalateOrderMutation = { escalateCustomerOrder: { id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string, escalations: Array<{ id: string, fromLevel: number, toLevel: number, direction: EscalationDirection, jeopardyLevel: JeopardyLevel, rule: string | null, reason: string | null, notify: Array<string>, actor: string, manual: boolean, at: string }> } };

export type OrderSummaryFragment = { id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string };

export type ActivityFieldsFragment = { id: string, itemId: string | null, kind: string, state: ActivityState, plannedStart: string, plannedEnd: string, actualStart: string | null, actualEnd: string | null, expectedEnd: string | null, percentComplete: number, workGroup: string | null, assignee: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, predecessorIds: Array<string>, version: number };

export type ServiceOrderRequestFieldsFragment = { id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string };

export type ItemFieldsFragment = { id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState };

export type EventFieldsFragment = { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown, summary: string };

export type ChangeRequestFieldsFragment = { id: string, partyOrderId: string, nature: ChangeNature, kind: ChangeKind, proposedDeliveryDate: string | null, reason: string, state: ChangeRequestState, resolutionNote: string | null, resolvedBy: string | null, resolvedAt: string | null, raisedBy: string, createdAt: string };

export type PartyOrderSummaryFragment = { id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, party: { id: string, name: string } };

export type EscalationFieldsFragment = { id: string, fromLevel: number, toLevel: number, direction: EscalationDirection, jeopardyLevel: JeopardyLevel, rule: string | null, reason: string | null, notify: Array<string>, actor: string, manual: boolean, at: string };

export type PartyOrderRevisionFieldsFragment = { revision: number, state: string, reason: string | null, changeRequestId: string | null, createdAt: string, answeredAt: string | null, lines: Array<{ itemId: string, productRef: string, change: string, quantity: number, previousQuantity: number, characteristics: Array<{ name: string, value: string }> }> };

export type JeopardyCountsQueryVariables = Exact<{
  states?: Array<OrderState> | OrderState | null | undefined;
}>;


export type JeopardyCountsQuery = { all: { totalCount: number }, none: { totalCount: number }, atRisk: { totalCount: number }, jeopardy: { totalCount: number }, late: { totalCount: number } };

export type LiveOrderEventsSubscriptionVariables = Exact<{
  filter?: OrderStreamFilter | null | undefined;
  after?: string | null | undefined;
}>;


export type LiveOrderEventsSubscription = { orderEventsMatching: { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown, summary: string } };

export type LiveOrderTimelineSubscriptionVariables = Exact<{
  orderId: string | number;
  after?: string | null | undefined;
}>;


export type LiveOrderTimelineSubscription = { orderEvents: { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown, summary: string } };

export type LiveJeopardyAlertsSubscriptionVariables = Exact<{
  orderId?: string | number | null | undefined;
  after?: string | null | undefined;
}>;


export type LiveJeopardyAlertsSubscription = { jeopardyAlerts: { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown, summary: string } };

export type LivePartyOrderEventsSubscriptionVariables = Exact<{
  partyId?: string | number | null | undefined;
  partyOrderId?: string | number | null | undefined;
  after?: string | null | undefined;
}>;


export type LivePartyOrderEventsSubscription = { partyOrderEvents: { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown, summary: string } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { name: string, role: string, partyId: string | null } };

export type OrderListQueryVariables = Exact<{
  filter?: CustomerOrderFilter | null | undefined;
  sort?: OrderSortField;
  direction?: SortDirection;
  first?: number;
  after?: string | null | undefined;
}>;


export type OrderListQuery = { customerOrders: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string } }> } };

export type OrderTimelineQueryVariables = Exact<{
  orderId: string | number;
  first?: number;
  after?: string | null | undefined;
}>;


export type OrderTimelineQuery = { orderTimeline: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { sequence: number, cursor: string, type: string, at: string, actor: string, actorRole: string, entity: string, entityId: string, orderId: string | null, partyOrderId: string | null, before: unknown, after: unknown, details: unknown, summary: string } }> } };

export type OrderTreeQueryVariables = Exact<{
  id: string | number;
}>;


export type OrderTreeQuery = { customerOrder: { revision: number, stateReason: string | null, description: string | null, requestedAt: string, createdAt: string, completedAt: string | null, id: string, salesRequestRef: string, customerId: string, customerName: string, priority: Priority, state: OrderState, committedDate: string, expectedCompletion: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, jeopardySince: string | null, escalationLevel: number, version: number, updatedAt: string, forecast: { completionP50: string | null, completionP90: string | null, onTimeProbability: number, basis: string, criticalPath: Array<{ kind: string, id: string, name: string }> } | null, contacts: Array<{ name: string, role: string | null, email: string | null, phone: string | null }>, characteristics: Array<{ name: string, value: string }>, items: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState, serviceOrderRequest: { id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string } | null, children: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState, serviceOrderRequest: { id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string } | null, children: Array<{ id: string, parentId: string | null, productRef: string, action: ItemAction, quantity: number, fulfillment: Fulfillment, partyId: string | null, state: OrderItemState }> }> }>, activities: Array<{ id: string, itemId: string | null, kind: string, state: ActivityState, plannedStart: string, plannedEnd: string, actualStart: string | null, actualEnd: string | null, expectedEnd: string | null, percentComplete: number, workGroup: string | null, assignee: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, predecessorIds: Array<string>, version: number }>, serviceOrderRequests: Array<{ id: string, itemId: string, state: ServiceOrderRequestState, externalRef: string | null, note: string | null, updatedAt: string }>, partyOrders: Array<{ revision: number, createdAt: string, acknowledgedAt: string | null, deliveredAt: string | null, id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, forecast: { deliveryP50: string, deliveryP90: string, onTimeProbability: number } | null, lines: Array<{ itemId: string, productRef: string }>, milestones: Array<{ id: string, name: string, plannedDate: string, reachedAt: string | null }>, changeRequests: Array<{ id: string, partyOrderId: string, nature: ChangeNature, kind: ChangeKind, proposedDeliveryDate: string | null, reason: string, state: ChangeRequestState, resolutionNote: string | null, resolvedBy: string | null, resolvedAt: string | null, raisedBy: string, createdAt: string }>, party: { id: string, name: string } }>, escalations: Array<{ id: string, fromLevel: number, toLevel: number, direction: EscalationDirection, jeopardyLevel: JeopardyLevel, rule: string | null, reason: string | null, notify: Array<string>, actor: string, manual: boolean, at: string }>, notes: Array<{ id: string, text: string, author: string, createdAt: string }> } | null };

export type AcknowledgePartyOrderMutationVariables = Exact<{
  id: string | number;
  idempotencyKey: string;
  input: AcknowledgePartyOrderInput;
}>;


export type AcknowledgePartyOrderMutation = { acknowledgePartyOrder: { id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, party: { id: string, name: string } } };

export type ReportPartyOrderProgressMutationVariables = Exact<{
  id: string | number;
  idempotencyKey: string;
  input: ProgressReportInput;
}>;


export type ReportPartyOrderProgressMutation = { reportPartyOrderProgress: { id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, party: { id: string, name: string } } };

export type RequestPartyOrderChangeMutationVariables = Exact<{
  id: string | number;
  idempotencyKey: string;
  input: ChangeRequestInput;
}>;


export type RequestPartyOrderChangeMutation = { requestPartyOrderChange: { id: string, partyOrderId: string, nature: ChangeNature, kind: ChangeKind, proposedDeliveryDate: string | null, reason: string, state: ChangeRequestState, resolutionNote: string | null, resolvedBy: string | null, resolvedAt: string | null, raisedBy: string, createdAt: string } };

export type ReportPartyOrderCompletionMutationVariables = Exact<{
  id: string | number;
  idempotencyKey: string;
  deliveredAt?: string | null | undefined;
  note?: string | null | undefined;
}>;


export type ReportPartyOrderCompletionMutation = { reportPartyOrderCompletion: { id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, party: { id: string, name: string } } };

export type AcknowledgePartyOrderRevisionMutationVariables = Exact<{
  id: string | number;
  revision: number;
  idempotencyKey: string;
}>;


export type AcknowledgePartyOrderRevisionMutation = { acknowledgePartyOrderRevision: { revision: number, id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, revisions: Array<{ revision: number, state: string, reason: string | null, changeRequestId: string | null, createdAt: string, answeredAt: string | null, lines: Array<{ itemId: string, productRef: string, change: string, quantity: number, previousQuantity: number, characteristics: Array<{ name: string, value: string }> }> }>, party: { id: string, name: string } } };

export type RejectPartyOrderRevisionMutationVariables = Exact<{
  id: string | number;
  revision: number;
  idempotencyKey: string;
  reason: string;
}>;


export type RejectPartyOrderRevisionMutation = { rejectPartyOrderRevision: { revision: number, id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, revisions: Array<{ revision: number, state: string, reason: string | null, changeRequestId: string | null, createdAt: string, answeredAt: string | null, lines: Array<{ itemId: string, productRef: string, change: string, quantity: number, previousQuantity: number, characteristics: Array<{ name: string, value: string }> }> }>, party: { id: string, name: string } } };

export type PartyOrderListQueryVariables = Exact<{
  filter?: PartyOrderFilter | null | undefined;
  sort?: PartyOrderSortField;
  direction?: SortDirection;
  first?: number;
  after?: string | null | undefined;
}>;


export type PartyOrderListQuery = { partyOrders: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, party: { id: string, name: string } } }> } };

export type PartyOrderProgressQueryVariables = Exact<{
  id: string | number;
}>;


export type PartyOrderProgressQuery = { partyOrder: { note: string | null, acknowledgedAt: string | null, deliveredAt: string | null, revision: number, id: string, partyId: string, state: PartyOrderState, stateReason: string | null, neededBy: string, partyReference: string | null, committedDeliveryDate: string | null, expectedDeliveryDate: string | null, percentComplete: number, lastReportAt: string | null, nextReportDue: string | null, jeopardyLevel: JeopardyLevel, jeopardyReason: string | null, escalationLevel: number, version: number, updatedAt: string, lines: Array<{ itemId: string, productRef: string, action: ItemAction, quantity: number }>, milestones: Array<{ id: string, name: string, plannedDate: string, reachedAt: string | null }>, progressReports: Array<{ id: string, percentComplete: number | null, note: string | null, expectedDeliveryDate: string | null, milestoneId: string | null, reportedBy: string, reportedAt: string }>, changeRequests: Array<{ id: string, partyOrderId: string, nature: ChangeNature, kind: ChangeKind, proposedDeliveryDate: string | null, reason: string, state: ChangeRequestState, resolutionNote: string | null, resolvedBy: string | null, resolvedAt: string | null, raisedBy: string, createdAt: string }>, revisions: Array<{ revision: number, state: string, reason: string | null, changeRequestId: string | null, createdAt: string, answeredAt: string | null, lines: Array<{ itemId: string, productRef: string, change: string, quantity: number, previousQuantity: number, characteristics: Array<{ name: string, value: string }> }> }>, party: { id: string, name: string } } | null };
